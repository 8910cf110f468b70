"""What `make run` refuses at start, and how it listens: a taken port, eventlet on PostgreSQL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
import requests
import sqlalchemy as sa

from deploy import serving
from tests import services
from tests.databases import PG_SKIP_REASON, postgres_schema
from tests.live import ROOT, LiveServer, free_port, post_form, register, stop_group, wait_until

pytestmark = pytest.mark.live


def start_make_run(env: dict[str, str], port: int, log_path) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            ["make", "-s", "run", f"PORT={port}", "HOST=127.0.0.1"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )


def refused(process: subprocess.Popen, log_path) -> str:
    """Wait until `make run` stops or says it is ready; its output, once it has stopped."""
    try:
        wait_until(lambda: process.poll() is not None or "is ready" in log_path.read_text(),
                   timeout=90, interval=0.1, message="make run to stop or serve")
        output = log_path.read_text()
        assert process.poll() not in (None, 0), output
    finally:
        stop_group(process, signal.SIGTERM)
    assert "is ready" not in output
    return output


def _seed_waiting_work(database_url: str) -> sa.Engine:
    """A due goal nudge and an import whose server is long gone, in a migrated database."""
    engine = sa.create_engine(database_url)
    subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "fitness_app", "db", "upgrade"],
                   cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url},
                   check=True, capture_output=True)
    long_ago = "2020-01-01 00:00:00"
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO users (id, username, email, password_hash, is_admin, created_at,"
            " nudge_time) VALUES (1, 'ann', 'ann@example.com', 'x', false, :t, '08:00:00')"),
            {"t": long_ago})
        conn.execute(sa.text("INSERT INTO due_items (kind, user_id, due_at)"
                             " VALUES ('goal_nudge', 1, CURRENT_TIMESTAMP)"))
        conn.execute(sa.text(
            "INSERT INTO imports (user_id, filename, status, total, done, added, skipped,"
            " refused, created_at, heartbeat_at) VALUES (1, 'a.gpx', 'queued', 0, 0, 0, 0, 0,"
            " :t, :t)"), {"t": long_ago})
    return engine


def _waiting_work(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [*conn.execute(sa.text("SELECT id, kind, due_at FROM due_items")),
                *conn.execute(sa.text("SELECT id, status, heartbeat_at FROM imports"))]


def refused_beside(first: LiveServer, mode: str, tmp_path) -> str:
    """A second `make run` in `mode` on `first`'s port, with work waiting in its own
    database: its output, once it has stopped having claimed and resumed nothing."""
    second_db = f"sqlite:///{tmp_path / 'second.db'}"
    engine = _seed_waiting_work(second_db)
    waiting = _waiting_work(engine)
    env = {**first.env, "ASYNC_MODE": mode, "DATABASE_URL": second_db,
           "INSTANCE_PATH": str(tmp_path / "second-instance"),
           "IMPORT_STALE_SECONDS": "1", "SCHEDULE_POLL_SECONDS": "0.1"}
    output = refused(start_make_run(env, first.port, tmp_path / "second.log"),
                     tmp_path / "second.log")
    assert _waiting_work(engine) == waiting
    engine.dispose()
    return output


@pytest.mark.parametrize(("first_mode", "second_mode"),
                         [("eventlet", "eventlet"), ("gevent", "gevent"),
                          ("gevent", "eventlet")])
def test_a_second_make_run_on_a_taken_port_says_so_and_stops(tmp_path, first_mode, second_mode):
    """It says the port is taken, the first server answers alone, and the refused one
    never claimed or resumed the work waiting in its database."""
    (tmp_path / "first").mkdir()
    with LiveServer(tmp_path / "first", env={"ASYNC_MODE": first_mode}) as first:
        output = refused_beside(first, second_mode, tmp_path)
        assert f"port {first.port} on 127.0.0.1 is taken" in output
        # The first server still answers every request alone.
        with requests.Session() as session:
            for _ in range(20):
                assert session.get(f"{first.url}/healthz", timeout=5).status_code == 200
        assert first.process.poll() is None


def test_threading_mode_refused_on_a_taken_port_leaves_waiting_work_alone(tmp_path):
    """Werkzeug's server in threading mode exits on a taken port in its own words; it too
    claims and resumes nothing."""
    (tmp_path / "first").mkdir()
    with LiveServer(tmp_path / "first") as first:
        refused_beside(first, "threading", tmp_path)


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_the_listening_socket_refuses_sharing_and_gevent_sends_without_delay(mode):
    """No SO_REUSEPORT in either mode; under gevent every connection gets TCP_NODELAY."""
    port = free_port()
    listener = serving.listen("127.0.0.1", port, mode)
    try:
        assert listener.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 0
        with socket.create_connection(("127.0.0.1", port)):
            accepted, _ = listener.accept()
            with accepted:
                nodelay = accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert bool(nodelay) is (mode == "gevent")
        with pytest.raises(SystemExit, match=f"port {port} on 127.0.0.1 is taken"):
            serving.listen("127.0.0.1", port, mode)
    finally:
        listener.close()


def test_eventlet_on_postgresql_is_refused_at_start_and_points_to_gevent(tmp_path):
    """`make run` with DATABASE_URL on PostgreSQL and no ASYNC_MODE: eventlet, refused."""
    services.require("PostgreSQL", PG_SKIP_REASON)
    with postgres_schema() as url:
        env = {**os.environ, "DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "instance"),
               "PYTHONUNBUFFERED": "1"}
        env.pop("ASYNC_MODE", None)
        env.pop("REDIS_URL", None)
        output = refused(start_make_run(env, free_port(), tmp_path / "run.log"),
                         tmp_path / "run.log")
    assert "ASYNC_MODE=eventlet serves SQLite only, not postgresql" in output
    assert "ASYNC_MODE=gevent make run" in output


def test_gevent_serves_others_while_a_request_waits_on_postgresql(tmp_path):
    """`ASYNC_MODE=gevent make run` on PostgreSQL: a query that waits holds no one else."""
    services.require("PostgreSQL", PG_SKIP_REASON)
    with postgres_schema() as url, LiveServer(
        tmp_path, env={"ASYNC_MODE": "gevent", "DATABASE_URL": url}
    ) as server:
        session = register(server.url, "pat")
        engine = sa.create_engine(url)
        with ThreadPoolExecutor(1) as pool:
            with engine.connect() as conn, conn.begin():
                conn.execute(sa.text("LOCK TABLE workouts IN EXCLUSIVE MODE"))
                posting = pool.submit(
                    post_form, session, server.url, "/workouts/new", "/workouts/new",
                    {"title": "Waits", "activity": "run", "duration_minutes": "30",
                     "performed_on": date.today().isoformat(), "completed": "y"})

                def post_waits_for_the_lock() -> bool:
                    return bool(conn.execute(sa.text(
                        "SELECT count(*) FROM pg_locks"
                        " WHERE NOT granted AND relation = 'workouts'::regclass")).scalar())

                wait_until(post_waits_for_the_lock, timeout=30, message="the POST to wait")
                # The server waits on PostgreSQL for that POST; everyone else is served.
                with requests.Session() as other:
                    assert other.get(f"{server.url}/healthz", timeout=10).status_code == 200
                    assert other.get(f"{server.url}/auth/login", timeout=10).status_code == 200
                assert not posting.done()
            assert posting.result(timeout=30).status_code == 302
        engine.dispose()
        listed = session.get(f"{server.url}/workouts/", timeout=10).text
        assert "Waits" in listed
