"""The scheduler through a database outage: a private PostgreSQL stopped under its loop.

While the database is away the loop's turns fail, the rows stay due, and the
outage is logged once, not once a turn; when it is back, the due summary is
sent, once.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa

from deploy.processes import wait_until
from fitness_app import outages
from fitness_app.extensions import db
from fitness_app.models import DueItem, Notification, User
from fitness_app.services.schedule import loop
from tests.conftest import built_app
from tests.test_outages import fresh_database, logs, outage_lines, postgres, stopped

__all__ = ["logs", "postgres"]  # fixtures shared with tests/test_outages.py


def test_a_turn_during_an_outage_waits_for_the_database_and_sends_once(postgres, logs):
    url = fresh_database(postgres)
    with built_app(url, SCHEDULE_POLL_SECONDS=0.1) as app:
        with app.app_context():
            user = User(username="ann", email="ann@example.com", password_hash="x",
                        summary_day="mon", summary_time=time(8))
            db.session.add(user)
            db.session.flush()
            db.session.add(DueItem(kind="weekly_summary", user_id=user.id,
                                   due_at=datetime.now(UTC) + timedelta(seconds=1)))
            db.session.commit()
        try:
            with stopped(postgres):
                loop.start(app)
                wait_until(lambda: outages.state(app).refused >= 3, timeout=30,
                           message="three scheduler turns to meet the outage")

            def sent() -> int:
                with app.app_context():
                    count = db.session.scalar(sa.select(sa.func.count()).select_from(
                        Notification).where(Notification.kind == "weekly_summary"))
                    db.session.rollback()
                    return count
            wait_until(sent, timeout=60, message="the summary after the outage")
        finally:
            loop.stop(app)
        assert sent() == 1
    unreachable = [line for line in outage_lines(logs) if "unreachable" in line]
    assert len(unreachable) == 1
