"""The scheduler's batch path: many users due at the same minute, in batches of 500.

Each batch is claimed in one statement, worked out set-based, stored with
one multi-row INSERT (`store.notify_many`) and committed once; these tests
check what that must not change: every user gets exactly one nudge with
their own figures, a live one on their socket, their badge right, their
next time planned; and two workers on PostgreSQL claim disjoint batches.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from deploy.processes import wait_until
from fitness_app.extensions import db, socketio
from fitness_app.models import DueItem, Goal, Notification, User, Workout
from fitness_app.services.schedule import loop
from fitness_app.services.schedule.plan import aware as plan_aware
from tests.conftest import AuthActions, built_app
from tests.scheduling import drain_with_two_workers
from tests.test_schedule import add_goal, inbox, save_settings, turn, utc

USERS = 1_200  # more than two batches of SCHEDULE_BATCH (500)
DUE = utc(2026, 3, 21, 7)  # Saturday 07:00 UTC; the week ends on Sunday, two days to go
DONE_ON = date(2026, 3, 18)


def seed(app, due: datetime, users: int) -> list[int]:
    """`users` people with a week goal of 3 workouts and `n % 4` of them done; a nudge due.

    Every tenth also has a weekly summary due at the same moment. Written
    through the tables, as a database that has grown would hold them.
    """
    with app.app_context():
        db.session.execute(sa.insert(User), [
            {"username": f"b{n}", "email": f"b{n}@example.com", "password_hash": "x",
             "timezone": "UTC", "nudge_time": time(7), "goal_count": 1,
             "summary_day": "sat" if n % 10 == 0 else None,
             "summary_time": time(7) if n % 10 == 0 else None}
            for n in range(users)
        ])
        ids = db.session.scalars(
            sa.select(User.id).where(User.username.like("b%")).order_by(User.id)).all()
        db.session.execute(sa.insert(Goal), [
            {"user_id": uid, "kind": "workouts", "target": 3.0, "period": "week"} for uid in ids])
        done_at = datetime.combine(DONE_ON, time(10), tzinfo=UTC)
        db.session.execute(sa.insert(Workout), [
            {"user_id": uid, "title": "Easy run", "activity": "run", "duration_minutes": 30,
             "performed_on": DONE_ON, "completed_at": done_at}
            for n, uid in enumerate(ids) for _ in range(n % 4)
        ])
        db.session.execute(sa.insert(DueItem), [
            {"kind": kind, "user_id": uid, "due_at": due}
            for n, uid in enumerate(ids)
            for kind in (("goal_nudge", "weekly_summary") if n % 10 == 0 else ("goal_nudge",))
        ])
        db.session.commit()
        return list(ids)


def test_many_users_due_at_once_each_get_exactly_one_nudge_of_their_own(app, client):
    with time_machine.travel(utc(2026, 3, 20, 9), tick=False) as clock:
        AuthActions(client).register()
        save_settings(client, nudge_time="08:00")  # Berlin: 07:00 UTC, the same moment
        add_goal(client, "workouts", "3", "week")
        socket = socketio.test_client(app, flask_test_client=client)
        ids = seed(app, DUE, USERS)
        clock.move_to(DUE + timedelta(seconds=20))
        turns = []
        while claimed := turn(app):
            turns.append(claimed)
        # Batches of 500; the users with a summary as well get it in a later unit.
        assert turns[:2] == [500, 500] and len(turns) >= 3

        with app.app_context():
            rows = db.session.execute(
                sa.select(Notification.user_id, Notification.kind, Notification.data,
                          Notification.title, Notification.message)
                .where(Notification.user_id.in_(ids))).all()
            unread = dict(db.session.execute(
                sa.select(User.id, User.unread_count).where(User.id.in_(ids))).all())
            due = Counter(db.session.execute(
                sa.select(DueItem.kind, DueItem.due_at).where(DueItem.user_id.in_(ids))).all())
        nudges = {row.user_id: row for row in rows if row.kind == "goal_nudge"}
        per_user = Counter((row.user_id, row.kind) for row in rows)
        assert set(per_user.values()) == {1}, "someone got a kind twice"
        for n, uid in enumerate(ids):
            left = 3 - n % 4
            if left == 0:
                assert uid not in nudges  # the goal is achieved: nothing to say
                continue
            nudge = nudges[uid]
            [goal] = nudge.data["goals"]
            assert (goal["left"], goal["unit"], goal["days_left"]) == (left, "workouts", 2)
            noun = "workout" if left == 1 else "workouts"
            assert nudge.title == "Your goal for this week"
            assert nudge.message == (f"3 workouts this week: {left} {noun} left, "
                                     "2 days to go. You can do it!")
            assert unread[uid] == per_user[(uid, "goal_nudge")] + per_user[(uid, "weekly_summary")]
        assert sum(1 for uid, kind in per_user if kind == "weekly_summary") == USERS // 10
        next_day = (DUE + timedelta(days=1)).replace(tzinfo=None)
        next_week = (DUE + timedelta(days=7)).replace(tzinfo=None)
        assert {(kind, moment.replace(tzinfo=None)): count for (kind, moment), count
                in due.items()} == {("goal_nudge", next_day): USERS,
                                    ("weekly_summary", next_week): USERS // 10}

        # The signed-in user, due in the same minute, saw it live, once, with the badge.
        [mine] = inbox(client, "goal_nudge")
        assert mine["data"]["goals"][0]["left"] == 3 and mine["group"] == str(mine["id"])
        received = socket.get_received()
        live = [p["args"][0] for p in received if p["name"] == "notification"]
        assert [p["id"] for p in live] == [mine["id"]]
        counts = [p["args"][0]["count"] for p in received if p["name"] == "unread_count"]
        assert counts[-1] == 1  # after the one sent on connect
        socket.disconnect()


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_two_workers_claim_disjoint_batches_and_nudge_each_user_once(database):
    overrides = {"SCHEDULE_POLL_SECONDS": 0.05}
    with built_app(database, **overrides) as first, built_app(database, **overrides) as second:
        now = datetime.now(UTC)
        ids = seed(first, now - timedelta(minutes=1), USERS)
        # Both claim while the other's batch is still held: SKIP LOCKED keeps them apart.
        with first.app_context():
            mine = loop.claim(now, 500)
            with second.app_context():
                theirs = loop.claim(now, 500)
                db.session.rollback()
            db.session.rollback()
        assert len(mine) == len(theirs) == 500
        assert not {item.id for item in mine} & {item.id for item in theirs}

        drain_with_two_workers(first, second, now)
        with first.app_context():
            per_user = Counter(db.session.scalars(
                sa.select(Notification.user_id).where(Notification.kind == "goal_nudge")))
        # Their workouts were done in another week: every one of them has a goal open.
        assert per_user == {uid: 1 for uid in ids}
        assert loop.claimed_so_far(first) + loop.claimed_so_far(second) >= USERS


def test_a_row_whose_work_fails_holds_back_no_one_else(database, monkeypatch, caplog):
    """A bug that fails one user's nudge: the batch rolls back, its rows go one at a time,
    the others are nudged, and the failing row is set aside to its next time, logged."""
    with built_app(database, SCHEDULE_BATCH=50, SCHEDULE_POLL_SECONDS=0.05) as app:
        now = datetime.now(UTC)
        ids = seed(app, now - timedelta(minutes=1), 120)
        bad = ids[7]
        real = loop.KINDS["goal_nudge"]

        def fails_for_one(items, users, when):
            if any(item.user_id == bad for item in items):
                raise RuntimeError("a bug that only this user's nudge meets")
            return real(items, users, when)

        monkeypatch.setitem(loop.KINDS, "goal_nudge", fails_for_one)
        caplog.set_level(logging.ERROR)
        try:
            loop.start(app)

            def all_moved_on() -> bool:
                with app.app_context():
                    pending = db.session.scalar(sa.select(sa.func.count()).select_from(
                        DueItem).where(DueItem.due_at <= now))
                    db.session.rollback()
                    return pending == 0
            wait_until(all_moved_on, timeout=60, message="every due row done or set aside")
        finally:
            loop.stop(app)
        with app.app_context():
            per_user = Counter(db.session.scalars(
                sa.select(Notification.user_id).where(Notification.kind == "goal_nudge")))
            [bad_next] = db.session.scalars(sa.select(DueItem.due_at).where(
                DueItem.user_id == bad, DueItem.kind == "goal_nudge")).all()
    assert per_user == {uid: 1 for uid in ids if uid != bad}
    assert plan_aware(bad_next) > now  # its next nudge is still planned
    assert any("set aside due row" in r.getMessage() and f"of user {bad}" in r.getMessage()
               for r in caplog.records)
