"""The scheduler in a real server started as `make run` starts it: due work survives a restart.

The server is stopped, the clock of two due rows is put back as if it had been
down at their time (one ten minutes ago, one two hours ago), and it is started
again: the first turn, at start-up, sends the one less than an hour late and
drops the other with a log line.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.live import LiveServer, post_form, register
from tests.sio_client import Listener

pytestmark = pytest.mark.live


def test_due_work_survives_a_restart_and_stale_work_is_dropped(tmp_path):
    server = LiveServer(tmp_path).start()
    try:
        session = register(server.url, "ann")
        response = post_form(session, server.url, "/settings/", "/settings/", {
            "timezone": "Europe/Berlin", "reminder_minutes": "30", "nudge_time": "08:00",
            "summary_day": "mon", "summary_time": "08:00"})
        assert response.status_code == 302
        response = post_form(session, server.url, "/goals/new", "/goals/new",
                             {"kind": "workouts", "target": "3", "period": "week"})
        assert response.status_code == 302
    finally:
        server.stop()

    # Down at their time: the nudge ten minutes ago, the summary two hours ago.
    engine = sa.create_engine(server.env["DATABASE_URL"])
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for kind, late in (("goal_nudge", timedelta(minutes=10)),
                           ("weekly_summary", timedelta(hours=2))):
            conn.execute(sa.text("UPDATE due_items SET due_at = :due WHERE kind = :kind"),
                         {"due": (now - late).replace(tzinfo=None), "kind": kind})
    engine.dispose()

    started = time.monotonic()
    server.start()
    try:
        listener = Listener(server.url, session, ["websocket"], last_id=0).connect()
        [nudge] = listener.wait_for(1)
        assert nudge["kind"] == "goal_nudge"
        assert time.monotonic() - started < 60
        assert nudge["data"]["goals"][0]["left"] == 3
        listener.disconnect()
        kinds = [n["kind"] for n in session.get(
            f"{server.url}/api/notifications?after=0", timeout=10).json()["notifications"]]
        assert kinds == ["goal_nudge"]
        log = server.log_path.read_text()
        assert "dropped 1 due items" in log and "weekly_summary ×1" in log
    finally:
        server.stop()
