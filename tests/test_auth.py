"""Accounts: register, log in, log out, next, remember me, and every bad input."""

from __future__ import annotations

import pytest

from fitness_app.extensions import db
from fitness_app.models import User
from fitness_app.services.accounts import passwords


def test_register_signs_in_and_redirects_home(client, auth, app):
    response = auth.register()
    assert response.status_code == 302
    assert response.location == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert b"Hello, ann" in page.data
    with app.app_context():
        user = db.session.scalar(db.select(User).filter_by(email="ann@example.com"))
        assert user.password_hash != "password1"
        assert passwords.check_password(user.password_hash, "password1")


@pytest.mark.one_database
def test_pages_need_login(client):
    for path in ["/", "/workouts/", "/workouts/new", "/goals/", "/goals/new", "/notifications/"]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.location.startswith("/auth/login?next="), path


@pytest.mark.one_database
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("username", "", b"Choose a username."),
        ("username", "ab", b"Use 3 to 32 characters."),
        ("username", "bad name!", b"Use letters, digits, dots, dashes or underscores."),
        ("email", "not-an-email", b"Enter an email address, such as name@example.com."),
        ("password", "short", b"Use 8 to 128 characters."),
        ("confirm", "different1", b"The passwords do not match."),
    ],
)
def test_register_validation(client, field, value, message):
    data = {"username": "ann", "email": "ann@example.com", "password": "password1",
            "confirm": "password1"}
    data[field] = value
    if field == "password":
        data["confirm"] = value
    response = client.post("/auth/register", data=data)
    assert response.status_code == 400
    assert message in response.data


def test_register_refuses_taken_email_and_username(client, auth):
    auth.register()
    auth.logout()
    response = auth.register(username="ANN", email="Ann@Example.com")
    assert response.status_code == 400
    assert b"That email is already registered." in response.data
    assert b"That username is taken." in response.data


def test_login_with_wrong_password(client, auth):
    auth.register()
    auth.logout()
    response = auth.login(password="wrong-password")
    assert response.status_code == 400
    assert b"Wrong email or password." in response.data
    assert client.get("/").status_code == 302


def test_login_and_logout(client, auth):
    auth.register()
    assert auth.logout().status_code == 302
    assert client.get("/").status_code == 302
    response = auth.login(email="ANN@example.com ")
    assert response.status_code == 302
    assert client.get("/").status_code == 200


@pytest.mark.one_database
def test_logout_is_post_only(client, auth):
    auth.register()
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/").status_code == 200


@pytest.mark.one_database
@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/workouts/", "/workouts/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_login_follows_only_local_next(client, auth, next_url, expected):
    auth.register()
    auth.logout()
    response = client.post(
        "/auth/login",
        query_string={"next": next_url},
        data={"email": "ann@example.com", "password": "password1"},
    )
    assert response.location == expected


def test_remember_me_sets_a_lasting_cookie(client, auth):
    auth.register()
    auth.logout()
    client.post(
        "/auth/login",
        data={"email": "ann@example.com", "password": "password1", "remember": "y"},
    )
    cookie = client.get_cookie("remember_token")
    assert cookie is not None
    assert cookie.expires is not None
    # A new browser session that only has the remember cookie is still signed in.
    client.delete_cookie("session")
    assert client.get("/").status_code == 200


@pytest.mark.one_database
def test_forms_refuse_posts_without_csrf_token(app, auth):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    response = client.post(
        "/auth/register",
        data={"username": "ann", "email": "ann@example.com", "password": "password1",
              "confirm": "password1"},
    )
    assert response.status_code == 400
    assert b"The form expired" in response.data


@pytest.mark.one_database
def test_register_page_has_labelled_fields_and_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = True
    page = app.test_client().get("/auth/register").data.decode()
    assert 'name="csrf_token"' in page
    for field, label in [("username", "Username"), ("email", "Email"),
                         ("password", "Password"), ("confirm", "Repeat password")]:
        assert f'<label for="{field}">{label}</label>' in page
