"""A password reset and an account deletion are one transaction each.

Setting the password, ending the other sessions and deleting their push
subscriptions (a reset), or deleting the account with its sessions (a
deletion), commit together: when the database refuses the last step, the
person finds everything as it was, and the next attempt does it all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from fitness_app.extensions import db
from fitness_app.models import User
from fitness_app.services.accounts import lifecycle
from tests.conftest import AuthActions, built_app, signed_in_client
from tests.pushservice import PushService

NEW_PASSWORD = "a new password"


@pytest.fixture
def app(database: str, push_service: PushService) -> Iterator[Flask]:
    with built_app(database, PUSH_SERVICES=[push_service.origin]) as app:
        yield app


@contextmanager
def database_refusing(app: Flask, table: str) -> Iterator[None]:
    """While open, the database refuses every DELETE on `table` (a trigger)."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        create = [f"CREATE TRIGGER refuse BEFORE DELETE ON {table}"
                  " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"]
        drop = ["DROP TRIGGER refuse"]
    else:
        create = ["CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
                  " $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
                  f"CREATE TRIGGER refuse BEFORE DELETE ON {table}"
                  " FOR EACH ROW EXECUTE FUNCTION refuse()"]
        drop = [f"DROP TRIGGER refuse ON {table}", "DROP FUNCTION refuse()"]
    _run(engine, create)
    try:
        yield
    finally:
        _run(engine, drop)


def _run(engine: sa.Engine, statements: list[str]) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def refused(client: FlaskClient, path: str, data: dict) -> bool:
    """POST that the database refuses: an error, never a success."""
    try:
        status = client.post(path, data=data).status_code
    except sa.exc.DBAPIError:
        return True
    return status >= 500


def phone_with_push(app: Flask, push_service: PushService) -> tuple[FlaskClient, str]:
    phone = signed_in_client(app, "ann")
    answer = phone.post("/push/subscriptions", json=push_service.subscription())
    assert answer.status_code == 201
    return phone, answer.get_json()["id"]


def signed_in(client: FlaskClient) -> bool:
    return client.get("/").status_code == 200


def can_sign_in(app: Flask, password: str) -> bool:
    client = app.test_client()
    AuthActions(client).login(password=password)
    return signed_in(client)


def test_a_reset_the_database_refuses_halfway_changes_nothing(app, push_service):
    phone, device = phone_with_push(app, push_service)
    with app.app_context():
        user = db.session.scalar(sa.select(User).filter_by(username="ann"))
        with app.test_request_context():
            path = f"/auth/reset/{lifecycle.reset_token(user)}"
    form = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    with database_refusing(app, "push_devices"):
        assert refused(app.test_client(), path, form)

    assert signed_in(phone)
    assert f'data-device-id="{device}"' in phone.get("/settings/devices").get_data(as_text=True)
    assert can_sign_in(app, "password1") and not can_sign_in(app, NEW_PASSWORD)

    # The same link then does it all.
    laptop = app.test_client()
    assert laptop.post(path, data=form).status_code == 302
    assert signed_in(laptop) and not signed_in(phone)
    assert can_sign_in(app, NEW_PASSWORD)
    assert f'data-device-id="{device}"' not in laptop.get("/settings/devices").get_data(
        as_text=True)


def test_a_deletion_the_database_refuses_halfway_changes_nothing(app, push_service):
    phone, device = phone_with_push(app, push_service)
    laptop = app.test_client()
    AuthActions(laptop).login()
    with database_refusing(app, "users"):
        assert refused(laptop, "/settings/delete", {"password": "password1"})

    assert signed_in(phone) and signed_in(laptop)
    assert f'data-device-id="{device}"' in phone.get("/settings/devices").get_data(as_text=True)
    assert can_sign_in(app, "password1")

    assert laptop.post("/settings/delete", data={"password": "password1"}).status_code == 302
    assert not signed_in(phone) and not signed_in(laptop)
    assert not can_sign_in(app, "password1")
