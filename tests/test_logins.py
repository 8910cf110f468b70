"""Sessions the server can end: copied cookies, remember-me, sockets, every device."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import requests
import socketio as python_socketio
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from fitness_app.extensions import db, socketio
from fitness_app.models import Login, User, utcnow
from fitness_app.services.accounts import logins
from tests.conftest import AuthActions
from tests.live import post_form, register, wait_until
from tests.sio_client import Listener, both_transports


def connect(app: Flask, client: FlaskClient):
    return socketio.test_client(app, flask_test_client=client)


def signed_in(app: Flask, remember: bool = False, email: str = "ann@example.com") -> FlaskClient:
    client = app.test_client()
    data = {"email": email, "password": "password1"}
    if remember:
        data["remember"] = "y"
    assert client.post("/auth/login", data=data).status_code == 302
    return client


def copy_of(app: Flask, client: FlaskClient, *names: str) -> FlaskClient:
    """Another browser holding copies of `client`'s cookies named `names`."""
    thief = app.test_client()
    for name in names:
        cookie = client.get_cookie(name)
        assert cookie is not None, name
        thief.set_cookie(name, cookie.value)
    return thief


def is_signed_in(client: FlaskClient) -> bool:
    return client.get("/").status_code == 200


def login_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Login.id)))


def test_a_copied_session_cookie_is_dead_after_logout(app, auth, client):
    auth.register()
    thief = copy_of(app, client, "session")
    assert is_signed_in(thief)
    assert auth.logout().status_code == 302
    assert not is_signed_in(client)
    assert not is_signed_in(thief)
    assert not connect(app, thief).is_connected()


def test_a_copied_remember_cookie_is_dead_after_logout(app, auth):
    auth.register()
    auth.logout()
    browser = signed_in(app, remember=True)
    thief = copy_of(app, browser, "remember_token")
    late_thief = copy_of(app, browser, "remember_token")
    assert is_signed_in(thief), "the remember-me cookie alone signs in"
    assert AuthActions(browser).logout().status_code == 302
    assert not is_signed_in(late_thief)
    # The thief's own session was restored from the cookie; it ends as well.
    assert not is_signed_in(thief)
    assert not connect(app, thief).is_connected()


def test_logout_ends_only_its_own_login(app, auth, client):
    auth.register()
    phone = signed_in(app)
    assert auth.logout().status_code == 302
    assert is_signed_in(phone)
    assert login_count(app) == 1


def test_logout_everywhere_ends_every_login_and_socket(app, auth, client):
    auth.register()
    AuthActions(app.test_client()).register(username="bob", email="bob@example.com")
    laptop = client
    phone = signed_in(app, remember=True)
    phone_remember = copy_of(app, phone, "remember_token")
    bob = signed_in(app, email="bob@example.com")
    sockets = [connect(app, laptop), connect(app, phone), connect(app, phone)]
    bob_socket = connect(app, bob)
    assert all(socket.is_connected() for socket in [*sockets, bob_socket])

    response = phone.post("/auth/logout-everywhere")
    assert response.status_code == 302
    assert response.location == "/auth/login"

    assert not any(socket.is_connected() for socket in sockets)
    for browser in (laptop, phone, phone_remember):
        assert not is_signed_in(browser)
        assert not connect(app, browser).is_connected()
    assert bob_socket.is_connected()
    assert is_signed_in(bob)
    with app.app_context():
        owners = db.session.scalars(sa.select(User.username).join(Login)).all()
    assert set(owners) == {"bob"}


def test_end_all_can_keep_the_current_login(app, auth, client):
    auth.register()
    phone = signed_in(app)
    phone_socket = connect(app, phone)
    with app.test_request_context():
        user = db.session.scalar(sa.select(User))
        logins.begin(user)
        kept = user.login_id
        logins.end_all(user.id, keep_current=True)
        remaining = db.session.scalars(sa.select(Login.id)).all()
    assert remaining == [kept]
    assert not is_signed_in(client)
    assert not is_signed_in(phone)
    assert not phone_socket.is_connected()


def test_the_sign_out_everywhere_button_is_on_every_signed_in_page(auth, client):
    auth.register()
    for path in ("/", "/workouts/", "/goals/", "/notifications/"):
        page = client.get(path).get_data(as_text=True)
        assert 'action="/auth/logout-everywhere"' in page, path
        assert "Sign out everywhere" in page, path


def test_logout_everywhere_is_post_only_and_needs_a_login(app, auth, client):
    assert client.post("/auth/logout-everywhere").status_code == 302
    auth.register()
    assert client.get("/auth/logout-everywhere").status_code == 405
    assert is_signed_in(client)


def test_a_login_older_than_its_lifetime_no_longer_loads(app, auth, client):
    auth.register()
    with app.app_context():
        db.session.execute(sa.update(Login).values(created_at=utcnow() - timedelta(days=366)))
        db.session.commit()
    assert not is_signed_in(client)
    # Signing in again drops the user's expired rows and keeps the new one.
    signed_in(app)
    assert login_count(app) == 1


def test_cookies_from_before_server_side_logins_are_refused(app, auth, client):
    """A session that names a user id (the old format) is not a login token."""
    auth.register()
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id))
    old = app.test_client()
    with old.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
    assert not is_signed_in(old)


def test_the_database_holds_no_usable_token(app, auth, client):
    auth.register()
    with client.session_transaction() as session:
        token = session["_user_id"]
    with app.app_context():
        stored = db.session.scalars(sa.select(Login.token_hash)).all()
    assert len(stored) == 1
    assert token not in stored[0]
    assert len(token) >= 40


@pytest.mark.live
def test_logout_and_logout_everywhere_over_real_sockets(live_server):
    """The `make run` server with python-socketio clients on both transports."""
    base = live_server.url
    name = f"ann{uuid.uuid4().hex[:8]}"
    laptop = register(base, name)
    copied = requests.Session()
    copied.cookies.update(laptop.cookies)
    phone = requests.Session()
    response = post_form(phone, base, "/auth/login", "/auth/login",
                         {"email": f"{name}@example.com", "password": "password1",
                          "remember": "y"})
    assert response.status_code == 302
    with both_transports(base, laptop) as laptop_sockets, \
            both_transports(base, phone) as phone_sockets:
        assert post_form(laptop, base, "/", "/auth/logout", {}).status_code == 302
        for listener in laptop_sockets:
            wait_until(lambda listener=listener: not listener.client.connected, timeout=10,
                       message="the signed-out laptop's socket to close")
        assert all(listener.client.connected for listener in phone_sockets)
        for transports in (["websocket"], ["polling"]):
            refused = Listener(base, copied, transports)
            with pytest.raises(python_socketio.exceptions.ConnectionError):
                refused.connect()
            assert refused.connect_errors == [{"message": "unauthorized"}]

        remembered = requests.Session()
        remembered.cookies.set("remember_token", phone.cookies.get("remember_token"))
        assert post_form(phone, base, "/", "/auth/logout-everywhere", {}).status_code == 302
        for listener in phone_sockets:
            wait_until(lambda listener=listener: not listener.client.connected, timeout=10,
                       message="every socket of the user to close")
    for session in (laptop, copied, phone, remembered):
        page = session.get(f"{base}/", allow_redirects=False, timeout=5)
        assert page.status_code == 302
        assert page.headers["Location"].startswith("/auth/login")
