"""The database away and back: 503 with Retry-After, never a 500, and no restart needed.

The outages are real: a private PostgreSQL (deploy/processes.py's
`PostgresServer`, never the shared one) stopped under the app with
`pg_ctl stop -m fast`, as a restart for an upgrade does, and started again;
SQLite locked by another connection; a server that accepts TCP and never
answers. The app runs in-process (Flask's and Flask-SocketIO's test clients);
tests/test_outages_live.py does the same to a server started as `make run`.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import Flask

from deploy.processes import PostgresServer, free_port, wait_until
from fitness_app import create_app, outages
from fitness_app.extensions import db, socketio
from fitness_app.models import Notification, User, Workout
from fitness_app.services.notifications import store
from fitness_app.services.notifications.delivery import delivery
from tests.conftest import AuthActions, built_app, log_workout
from tests.services import postgres_server_reason, require
from tests.smtp import smtp_server


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    require("a private PostgreSQL", postgres_server_reason())
    with PostgresServer() as server:
        yield server


@contextmanager
def stopped(server: PostgresServer) -> Iterator[None]:
    """The database away for the block, back afterwards, whatever the block did."""
    server.stop()
    try:
        yield
    finally:
        server.start()


def fresh_database(server: PostgresServer) -> str:
    """A new, empty database on the private server; its URL."""
    name = f"t_{free_port()}_{threading.get_ident() % 10_000}"
    admin = sa.create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def app(postgres: PostgresServer) -> Iterator[Flask]:
    with built_app(fresh_database(postgres)) as app:
        yield app


@pytest.fixture
def logs(caplog, monkeypatch) -> pytest.LogCaptureFixture:
    """caplog with the app's loggers on (Alembic's fileConfig disables existing ones)."""
    monkeypatch.setattr(logging.getLogger(outages.__name__), "disabled", False)
    caplog.set_level(logging.WARNING, logger=outages.__name__)
    return caplog


def outage_lines(logs: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in logs.records if r.name == outages.__name__]


# What counts as an outage, on errors the drivers really raise


def _error_from(engine: sa.Engine, statement: str = "SELECT 1") -> sa.exc.SQLAlchemyError:
    with pytest.raises(sa.exc.SQLAlchemyError) as caught, engine.connect() as conn:
        conn.execute(sa.text(statement))
    engine.dispose()
    return caught.value


def test_postgresql_refusing_connections_is_an_outage():
    engine = sa.create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x")
    assert outages.is_database_outage(_error_from(engine))


def test_sqlite_locked_or_unopenable_is_an_outage_and_bad_sql_is_not(tmp_path):
    path = tmp_path / "locked.db"
    holder = sa.create_engine(f"sqlite:///{path}", isolation_level="AUTOCOMMIT")
    with holder.connect() as conn:
        conn.execute(sa.text("CREATE TABLE t (x INTEGER UNIQUE)"))
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        conn.execute(sa.text("BEGIN EXCLUSIVE"))
        waiter = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.05})
        assert outages.is_database_outage(_error_from(waiter, "SELECT * FROM t"))
        conn.execute(sa.text("ROLLBACK"))
    holder.dispose()
    nowhere = sa.create_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    assert outages.is_database_outage(_error_from(nowhere))
    plain = sa.create_engine(f"sqlite:///{path}")
    assert not outages.is_database_outage(_error_from(plain, "SELEC 1"))
    assert not outages.is_database_outage(_error_from(plain, "INSERT INTO t VALUES (1)"))


def test_an_empty_pool_is_an_outage(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'pool.db'}", poolclass=sa.QueuePool,
                              pool_size=1, max_overflow=0, pool_timeout=0.05)
    with engine.connect():
        with pytest.raises(sa.exc.TimeoutError) as caught:
            engine.connect()
    engine.dispose()
    assert outages.is_database_outage(caught.value)


def test_postgresql_ending_a_query_is_an_outage_and_its_own_errors_are_not(postgres):
    engine = sa.create_engine(postgres.url)
    assert not outages.is_database_outage(_error_from(engine, "SELEC 1"))
    timeout = _error_from(engine, "SET statement_timeout = 1; SELECT pg_sleep(1)")
    assert not outages.is_database_outage(timeout)
    failures: list[BaseException] = []

    def long_query() -> None:
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_sleep(30)"))
        except sa.exc.SQLAlchemyError as error:
            failures.append(error)

    query = threading.Thread(target=long_query)
    query.start()
    sleeping = sa.text("SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'")
    with engine.connect() as conn:
        wait_until(lambda: conn.execute(sleeping).scalar() == 1 or conn.rollback(), 10,
                   "the long query to start")
    with stopped(postgres):
        query.join(30)
    engine.dispose()
    assert len(failures) == 1
    assert "AdminShutdown" in outages.describe(failures[0])
    assert outages.is_database_outage(failures[0])


# Requests, events and tasks while PostgreSQL is stopped


def test_requests_get_503_with_retry_after_and_succeed_at_the_return(app, postgres, logs):
    client = app.test_client()
    AuthActions(client).register()
    anonymous = app.test_client()
    with stopped(postgres):
        answers = {
            "dashboard": client.get("/"),
            "workout": log_workout(client, title="Lost in the outage"),
            "api": client.get("/api/notifications?after=0"),
            "missing page": client.get("/no-such-page"),
            "healthz": client.get("/healthz"),
        }
        # A page that needs nobody's account still works.
        assert anonymous.get("/auth/login").status_code == 200
    for what, answer in answers.items():
        assert answer.status_code == 503, what
        assert answer.headers["Retry-After"] == "5", what
    assert "cannot reach our database" in answers["dashboard"].get_data(as_text=True)
    assert "Back button" in answers["workout"].get_data(as_text=True)
    assert answers["api"].get_json()["error"] == "unavailable"
    assert answers["healthz"].get_json() == {"status": "unavailable"}
    began = [line for line in outage_lines(logs) if "unreachable" in line]
    assert len(began) == 1 and "OperationalError" in began[0]

    # The first request after the return succeeds: the pool replaced its dead connections.
    assert log_workout(client, title="After the return").status_code == 302
    assert client.get("/healthz").status_code == 200
    assert any("answers again" in line for line in outage_lines(logs))
    with app.app_context():
        titles = db.session.scalars(sa.select(Workout.title)).all()
    assert titles == ["After the return"]


def test_sockets_answer_unavailable_and_refuse_new_connections(app, postgres):
    client = app.test_client()
    AuthActions(client).register()
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id))
        with delivery():
            first = store.notify(user_id, "workout_completed", "Done", "before").id
    steady = socketio.test_client(app, flask_test_client=client)
    assert steady.is_connected()
    with stopped(postgres):
        assert steady.emit("mark_read", {"id": first}, callback=True) == {
            "ok": False, "error": "unavailable"}
        refused = socketio.test_client(app, flask_test_client=client)
        assert not refused.is_connected()
    # After the return the open socket works, and a refused page connects again.
    assert steady.emit("mark_read", {"id": first}, callback=True) == {"ok": True}
    again = socketio.test_client(app, flask_test_client=client, auth={"last_id": 0})
    assert again.is_connected()
    with app.app_context():
        with delivery():
            later = store.notify(user_id, "workout_completed", "Done", "after").id
    received = [e["args"][0]["id"] for e in again.get_received() if e["name"] == "notification"]
    assert received == [first, later]
    steady.disconnect()
    again.disconnect()


def test_a_mail_composed_during_an_outage_is_sent_after_it(postgres):
    with smtp_server() as mailbox:
        url = fresh_database(postgres)
        with built_app(url, MAIL_SERVER="127.0.0.1", MAIL_PORT=mailbox.port) as app:
            AuthActions(app.test_client()).register()
            with stopped(postgres):
                # Asking for a link needs no query; the mail's composer looks the account up.
                answer = app.test_client().post("/auth/reset", data={"email": "ann@example.com"})
                assert answer.status_code == 200
                assert mailbox.messages == []
            received = mailbox.wait_for(1, timeout=30)
    assert received[0].recipients == ["ann@example.com"]
    assert "/auth/reset/" in received[0].reset_link()


def test_nothing_is_half_written_when_the_commit_fails(app, postgres):
    client = app.test_client()
    AuthActions(client).register()

    def stop_before_commit(session, *args):
        postgres.stop()

    with app.app_context():
        sa.event.listen(db.session, "before_commit", stop_before_commit)
        try:
            answer = log_workout(client, title="Half")
        finally:
            sa.event.remove(db.session, "before_commit", stop_before_commit)
            postgres.start()
    assert answer.status_code == 503
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Workout)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


# A server that accepts connections and never answers


def test_a_database_that_never_answers_costs_the_connect_timeout_not_a_hang():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshake; nobody ever speaks
    url = f"postgresql+psycopg://postgres@127.0.0.1:{silent.getsockname()[1]}/x"
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "DATABASE_CONNECT_TIMEOUT": 2})
    answers: list[int] = []
    try:
        probe = threading.Thread(
            target=lambda: answers.append(app.test_client().get("/healthz").status_code)
        )
        probe.start()
        probe.join(30)
    finally:
        silent.close()
        with app.app_context():
            db.engine.dispose()
    assert answers == [503]


