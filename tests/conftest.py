"""Fixtures in the style of Flask's tutorial: app, client, runner, auth.

Each test gets its own SQLite file, or its own PostgreSQL schema when
TEST_DATABASE_URL points at a server (see `tests/databases.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from fitness_app import create_app
from fitness_app.extensions import db
from fitness_app.models import User
from fitness_app.realtime.presence_feed import stop_presence_loop
from tests.databases import DATABASE_PARAMS, database_url


@pytest.fixture(params=DATABASE_PARAMS)
def database(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A fresh, empty database URL: SQLite always, PostgreSQL where one answers."""
    with database_url(request.param, tmp_path) as url:
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
