"""Exactly once across workers: two app instances run their scheduler loops against one
PostgreSQL schema at the same time, and every due item is done by exactly one of them.

Each instance has its own engine and connection pool, as two server processes
do; their loops are the real background tasks (`loop.start`), claiming with
`SELECT … FOR UPDATE SKIP LOCKED` in small batches so that they interleave.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from deploy.processes import wait_until
from fitness_app.extensions import db
from fitness_app.models import DueItem, Notification, User
from fitness_app.services.schedule import loop
from tests.conftest import built_app
from tests.scheduling import drain_with_two_workers

USERS = 400


def seed(app, now: datetime) -> None:
    """USERS users, each with a weekly summary due a minute ago and a reminder-free week."""
    with app.app_context():
        db.session.execute(sa.insert(User), [
            {"username": f"u{n}", "email": f"u{n}@example.com", "password_hash": "x",
             "timezone": "Europe/Berlin", "summary_day": "mon", "summary_time": time(8)}
            for n in range(USERS)
        ])
        ids = db.session.scalars(sa.select(User.id)).all()
        db.session.execute(sa.insert(DueItem), [
            {"kind": "weekly_summary", "user_id": uid, "due_at": now - timedelta(minutes=1)}
            for uid in ids
        ])
        db.session.commit()


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_two_workers_run_each_due_item_exactly_once(database):
    overrides = {"SCHEDULE_BATCH": 10, "SCHEDULE_POLL_SECONDS": 0.05}
    with built_app(database, **overrides) as first, built_app(database, **overrides) as second:
        now = datetime.now(UTC)
        seed(first, now)
        drain_with_two_workers(first, second, now)
        with first.app_context():
            per_user = db.session.execute(
                sa.select(Notification.user_id, sa.func.count())
                .where(Notification.kind == "weekly_summary")
                .group_by(Notification.user_id)).all()
            moved = db.session.scalars(sa.select(DueItem.due_at)).all()
    assert len(per_user) == USERS
    assert {count for _, count in per_user} == {1}, "a user got more than one summary"
    assert len(moved) == USERS and all(due.astimezone(UTC) > now for due in moved)
    # Both workers took part: the rows were shared, not done twice.
    shares = (loop.claimed_so_far(first), loop.claimed_so_far(second))
    assert min(shares) > 0, shares
    assert sum(shares) >= USERS


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_rows_another_worker_holds_are_waited_for_without_spinning(database):
    """A worker mid-turn holds its rows (FOR UPDATE); one killed mid-turn holds them until
    PostgreSQL notices. The other worker's loop skips them and must rest meanwhile, not
    go round at once (it saw them due and claimed none), and take them once released."""
    with built_app(database, SCHEDULE_POLL_SECONDS=5) as app:
        seed(app, datetime.now(UTC))
        with app.app_context():
            holder = sa.create_engine(db.engine.url)
        statements = []
        try:
            with holder.connect() as other:
                other.execute(sa.text("SELECT id FROM due_items FOR UPDATE"))
                with app.app_context():
                    sa.event.listen(db.engine, "before_cursor_execute",
                                    lambda *args: statements.append(1))
                loop.start(app)
                wait_until(lambda: statements, timeout=10, message="the loop's first turn")
                began = len(statements)
                window_ends = datetime.now(UTC) + timedelta(seconds=1.5)
                wait_until(lambda: datetime.now(UTC) >= window_ends, timeout=5)
                # A turn is two statements: a few turns in the window, not a hundred.
                assert len(statements) - began <= 20
                other.rollback()  # the holder's turn ends (or its connection dies)

            def all_done() -> bool:
                with app.app_context():
                    pending = db.session.scalar(sa.select(sa.func.count()).select_from(DueItem))
                    due = db.session.scalar(sa.select(sa.func.min(DueItem.due_at)))
                    db.session.rollback()
                    return pending == USERS and due > datetime.now(UTC)
            wait_until(all_done, timeout=30, message="the released rows done and moved on")
        finally:
            loop.stop(app)
            holder.dispose()
