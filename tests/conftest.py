"""Fixtures in the style of Flask's tutorial: app, client, runner, auth, signed_in.

Each test gets its own SQLite file, and its own PostgreSQL schema too (see
`tests/databases.py`), unless it is marked `one_database`: tests of input
handling or static responses, whose SQL is not what they test, which run on
SQLite alone. A missing PostgreSQL fails the run under CI and is listed loudly
elsewhere (`tests/services.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from deploy.processes import RedisServer
from fitness_app import create_app
from fitness_app.extensions import db
from fitness_app.models import User
from fitness_app.realtime.presence_feed import stop_presence_loop
from fitness_app.services.push import fanout
from tests import services
from tests.databases import DATABASE_PARAMS, PG_SKIP_REASON, database_url
from tests.pushservice import PushService


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run tests marked `one_database` on SQLite only: input or static responses, not SQL."""
    kept, dropped = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        on_postgresql = params is not None and params.params.get("database") == "postgresql"
        (dropped if on_postgresql and item.get_closest_marker("one_database") else kept).append(
            item
        )
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_terminal_summary(terminalreporter) -> None:
    """Say loudly which service-backed tests did not run, and why."""
    for line in services.banner():
        terminalreporter.write_line(line, yellow=True, bold=True)


@pytest.fixture(params=DATABASE_PARAMS)
def database(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A fresh, empty database URL: SQLite, and PostgreSQL (required under CI)."""
    if request.param == "postgresql":
        services.require("PostgreSQL", PG_SKIP_REASON)
    # A test that takes the `app` fixture gets its tables from `create_all` at once, so a
    # reused schema (tests/databases.py) is as good as a new one.
    with database_url(request.param, tmp_path, with_tables="app" in request.fixturenames) as url:
        yield url


@contextmanager
def built_app(database: str, **overrides: object) -> Iterator[Flask]:
    """A testing app on `database` with its tables, torn down cleanly afterwards."""
    app = create_app(
        "testing",
        {"SQLALCHEMY_DATABASE_URI": database, "WTF_CSRF_ENABLED": False, **overrides},
    )
    with app.app_context():
        db.create_all()
    try:
        yield app
    finally:
        stop_presence_loop(app)
        fanout.stop(app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(database: str) -> Iterator[Flask]:
    with built_app(database) as app:
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


class AuthActions:
    """Sign up, in and out through the real forms, as a browser would."""

    def __init__(self, client: FlaskClient) -> None:
        self._client = client

    def register(
        self, username: str = "ann", email: str = "ann@example.com", password: str = "password1"
    ):
        return self._client.post(
            "/auth/register",
            data={"username": username, "email": email, "password": password, "confirm": password},
        )

    def login(self, email: str = "ann@example.com", password: str = "password1"):
        return self._client.post("/auth/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def signed_in(auth: AuthActions) -> AuthActions:
    """`client` signed in as a freshly registered ann@example.com."""
    auth.register()
    return auth


def signed_in_client(app: Flask, username: str, admin: bool = False) -> FlaskClient:
    """A test client of its own, signed up as `username` (an admin if asked)."""
    client = app.test_client()
    AuthActions(client).register(username=username, email=f"{username}@example.com")
    if admin:
        make_admin(app, f"{username}@example.com")
    return client


@pytest.fixture(scope="module")
def push_service() -> Iterator[PushService]:
    """A local push service (tests/pushservice.py) that decrypts what it receives."""
    with PushService() as service:
        yield service


@pytest.fixture
def shared_redis() -> str:
    """The machine's Redis (TEST_REDIS_URL); tests use channels of their own on it."""
    services.require("Redis", services.shared_redis_reason())
    return services.TEST_REDIS_URL


@pytest.fixture
def private_redis(tmp_path) -> Iterator[RedisServer]:
    """A private redis-server, for tests that stop it or kill its clients."""
    services.require("redis-server", services.redis_server_reason())
    with RedisServer(tmp_path) as server:
        yield server


def log_workout(client: FlaskClient, **fields: object):
    """POST the workout form with sensible defaults, overridden by `fields`."""
    data = {
        "title": "Tempo run",
        "activity": "run",
        "duration_minutes": "31",
        "distance_km": "6.2",
        "performed_on": date.today().isoformat(),
        "completed": "y",
    }
    data.update({k: str(v) for k, v in fields.items() if v is not None})
    for key in [k for k, v in fields.items() if v is None]:
        data.pop(key, None)
    return client.post("/workouts/new", data=data)


def make_admin(app: Flask, email: str) -> None:
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(email=email))
        user.is_admin = True
        db.session.commit()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """One real server for the session's live tests; each test signs up its own users."""
    from tests.live import LiveServer

    with LiveServer(tmp_path_factory.mktemp("live")) as server:
        yield server


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium tries to reach Google's servers and stalls offline.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, one per test module (never a downloaded build)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
