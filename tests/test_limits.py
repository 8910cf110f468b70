"""Throttled sign-in, registration limits, and the client address behind a proxy."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.conftest import AuthActions, built_app
from tests.live import csrf_token
from tests.services import TEST_REDIS_URL, require, shared_redis_reason

# The limits count requests, not rows: one database is enough.
sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def fail(client, email="ann@example.com", **headers):
    return client.post("/auth/login", data={"email": email, "password": "wrong-password"},
                       headers=headers)


def assert_throttled(response) -> None:
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 15 * 60
    page = response.get_data(as_text=True)
    assert "Too many failed sign-ins. Try again in 15 minutes." in page
    assert 'name="email"' in page, "the message stands on the sign-in form"


@sqlite_only
def test_the_sixth_wrong_password_gets_a_429_and_the_right_one_waits(app, auth, client):
    auth.register()
    auth.logout()
    for _ in range(5):
        assert fail(client).status_code == 400
    assert_throttled(fail(client))
    # Over the limit the password is not checked: the right one is refused too.
    assert_throttled(auth.login())
    assert client.get("/").status_code == 302
    # Another account from the same address is unaffected.
    AuthActions(app.test_client()).register(username="bob", email="bob@example.com")
    assert auth.login(email="bob@example.com").status_code == 302


@sqlite_only
def test_successful_sign_ins_are_never_counted(app, auth, client):
    auth.register()
    for _ in range(6):
        assert auth.logout().status_code == 302
        assert auth.login().status_code == 302
    auth.logout()
    for _ in range(4):
        assert fail(client).status_code == 400
    assert auth.login().status_code == 302


@sqlite_only
def test_fifty_failures_from_one_address_block_that_address(app, client):
    for number in range(50):
        assert fail(client, email=f"nobody{number}@example.com").status_code == 400
    assert_throttled(fail(client, email="someone-new@example.com"))


@sqlite_only
def test_without_trusted_proxies_a_forwarded_address_is_ignored(app, client):
    for number in range(5):
        response = fail(client, **{"X-Forwarded-For": f"203.0.113.{number}"})
        assert response.status_code == 400
    assert_throttled(fail(client, **{"X-Forwarded-For": "198.51.100.7"}))


@sqlite_only
def test_behind_one_trusted_proxy_each_client_address_counts_alone(database):
    with built_app(database, TRUSTED_PROXIES=1) as app:
        client = app.test_client()
        for _ in range(5):
            assert fail(client, **{"X-Forwarded-For": "203.0.113.1"}).status_code == 400
        assert_throttled(fail(client, **{"X-Forwarded-For": "203.0.113.1"}))
        assert fail(client, **{"X-Forwarded-For": "203.0.113.2"}).status_code == 400
        # A client cannot pick its address: only the entry the proxy appended counts.
        spoofed = {"X-Forwarded-For": "192.0.2.99, 203.0.113.1"}
        assert_throttled(fail(client, **spoofed))


@sqlite_only
def test_behind_a_tls_proxy_the_referrer_check_sees_https(database):
    with built_app(database, TRUSTED_PROXIES=1) as app:
        client = app.test_client()
        AuthActions(client).register()
        client.post("/workouts/new", data={
            "title": "Run", "activity": "run", "duration_minutes": "30",
            "performed_on": "2024-01-01"})
        headers = {"X-Forwarded-Proto": "https", "Referer": "https://localhost/goals/"}
        response = client.post("/workouts/1/complete", headers=headers)
        assert response.status_code == 302
        assert response.location == "/goals/"


@sqlite_only
def test_registration_is_limited_per_address_by_its_setting(database):
    with built_app(database, RATELIMIT_REGISTER="2 per hour") as app:
        for number in range(2):
            response = AuthActions(app.test_client()).register(
                username=f"user{number}", email=f"user{number}@example.com")
            assert response.status_code == 302
        response = AuthActions(app.test_client()).register(username="late",
                                                           email="late@example.com")
        assert response.status_code == 429
        assert int(response.headers["Retry-After"]) > 0
        assert "Try again in" in response.get_data(as_text=True)
        assert app.test_client().get("/auth/register").status_code == 200


@sqlite_only
def test_the_default_limits_let_a_shared_address_sign_up_many(app):
    from limits import parse

    assert parse(app.config["RATELIMIT_REGISTER"]).amount >= 200
    assert parse(app.config["RATELIMIT_RESET"]).amount >= 20


@sqlite_only
def test_with_redis_every_worker_shares_the_counts(database):
    require("Redis", shared_redis_reason())
    # Counts outlive a test run in Redis: a fresh address and email for each run.
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    email = f"{uuid.uuid4().hex}@example.com"

    def fail_from(app):
        return app.test_client().post(
            "/auth/login", data={"email": email, "password": "wrong-password"},
            environ_base={"REMOTE_ADDR": address})

    shared = {"RATELIMIT_STORAGE_URI": TEST_REDIS_URL}
    with built_app(database, **shared) as first_worker:
        for _ in range(3):
            assert fail_from(first_worker).status_code == 400
    with built_app(database, **shared) as second_worker:
        for _ in range(2):
            assert fail_from(second_worker).status_code == 400
        assert_throttled(fail_from(second_worker))


@pytest.mark.live
def test_the_live_server_throttles_the_sixth_wrong_password(live_server):
    base = live_server.url
    session = requests.Session()
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    statuses = []
    for _ in range(6):
        token = csrf_token(session, f"{base}/auth/login")
        response = session.post(f"{base}/auth/login", timeout=10, allow_redirects=False,
                                data={"csrf_token": token, "email": email, "password": "nope"})
        statuses.append(response.status_code)
    assert statuses == [400] * 5 + [429]
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in response.text
