"""Password reset by email, change password, export and delete, against a real SMTP server.

Each test runs on SQLite and, where one answers, on PostgreSQL: deleting an
account relies on each database's ON DELETE CASCADE.
"""

from __future__ import annotations

import io
import json
import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner

from deploy.processes import free_port, wait_until
from fitness_app.extensions import db, socketio
from fitness_app.models import User
from fitness_app.services.accounts import export
from tests.conftest import AuthActions, built_app, log_workout, make_admin, signed_in_client
from tests.smtp import Mailbox, smtp_server

NEW_PASSWORD = "a new password"


@pytest.fixture
def mailbox():
    with smtp_server() as mailbox:
        yield mailbox


@pytest.fixture
def app(database: str, mailbox: Mailbox):
    with built_app(database, MAIL_SERVER="127.0.0.1", MAIL_PORT=mailbox.port) as app:
        yield app


def another_device(app: Flask, username: str = "ann", password: str = "password1") -> FlaskClient:
    client = app.test_client()
    AuthActions(client).login(email=f"{username}@example.com", password=password)
    assert is_signed_in(client)
    return client


def is_signed_in(client: FlaskClient) -> bool:
    return client.get("/").status_code == 200


def can_sign_in(app: Flask, password: str, username: str = "ann") -> bool:
    client = app.test_client()
    AuthActions(client).login(email=f"{username}@example.com", password=password)
    return is_signed_in(client)


def connect(app: Flask, client: FlaskClient):
    socket = socketio.test_client(app, flask_test_client=client)
    assert socket.is_connected()
    return socket


def main_part(response) -> str:
    """The page's <main>: what it says, without per-request tokens in the head."""
    text = response.get_data(as_text=True)
    return text[text.index("<main") : text.index("</main>")]


def reset_link(client: FlaskClient, mailbox: Mailbox, email: str = "ann@example.com") -> str:
    """Ask for a link as a browser does and return the path of the one that arrives."""
    already = len(mailbox.messages)
    assert client.post("/auth/reset", data={"email": email}).status_code == 200
    received = mailbox.wait_for(already + 1)[already]
    assert received.recipients == [email]
    return urlsplit(received.reset_link()).path


# Password reset


def test_reset_by_email_ends_every_session_and_signs_in(app, mailbox):
    laptop = signed_in_client(app, "ann")
    laptop_socket = connect(app, laptop)
    phone = app.test_client()
    login_page = phone.get("/auth/login").get_data(as_text=True)
    assert '<a href="/auth/reset">Forgot your password?</a>' in login_page

    form = phone.get("/auth/reset")
    assert form.status_code == 200
    assert '<label for="email">Email</label>' in form.get_data(as_text=True)
    answer = phone.post("/auth/reset", data={"email": " Ann@Example.com "})
    assert answer.status_code == 200
    assert "a link to choose a new password is on its way" in answer.get_data(as_text=True)

    [received] = mailbox.wait_for(1)
    assert received.recipients == ["ann@example.com"]
    assert received.message["Subject"] == "Reset your fitness_app password"
    link = received.reset_link()
    assert link.startswith("http://localhost/auth/reset/")
    path = urlsplit(link).path
    page = phone.get(path)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert '<label for="password">New password</label>' in text
    assert '<label for="confirm">Repeat password</label>' in text
    assert page.headers["Referrer-Policy"] == "no-referrer"

    done = phone.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302
    assert done.location == "/"
    assert is_signed_in(phone)
    assert not is_signed_in(laptop)
    assert not laptop_socket.is_connected()
    assert not can_sign_in(app, "password1")
    assert can_sign_in(app, NEW_PASSWORD)
    notice = mailbox.wait_for(2)[1]
    assert notice.recipients == ["ann@example.com"]
    assert notice.message["Subject"] == "Your fitness_app password was changed"


def test_unknown_address_gets_the_same_answer_and_no_mail(app, client, mailbox):
    signed_in_client(app, "ann")
    unknown = client.post("/auth/reset", data={"email": "nobody@example.com"})
    known = client.post("/auth/reset", data={"email": "ann@example.com"})
    assert unknown.status_code == known.status_code == 200
    assert main_part(unknown).replace("nobody@example.com", "ADDRESS") == main_part(
        known
    ).replace("ann@example.com", "ADDRESS")
    # One sender per process works through the queue in order: the unknown
    # address was queued first, so its mail, had there been one, came first.
    assert [m.recipients for m in mailbox.wait_for(1)] == [["ann@example.com"]]


def test_a_slow_mail_server_holds_no_request(app, client, mailbox):
    signed_in_client(app, "ann")
    mailbox.hold()
    assert client.post("/auth/reset", data={"email": "ann@example.com"}).status_code == 200
    assert mailbox.waiting_at_data.wait(10), "the mail task never reached the SMTP server"
    # The SMTP server keeps the sender waiting; requests go on being answered.
    assert client.post("/auth/reset", data={"email": "ann@example.com"}).status_code == 200
    assert client.get("/auth/login").status_code == 200
    assert mailbox.messages == []
    mailbox.release()
    assert [m.recipients for m in mailbox.wait_for(2)] == [["ann@example.com"]] * 2


def test_an_unreachable_mail_server_costs_a_log_line_not_a_request(database, caplog):
    with built_app(database, MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port()) as app:
        signed_in_client(app, "ann")
        client = app.test_client()
        assert client.post("/auth/reset", data={"email": "ann@example.com"}).status_code == 200
        wait_until(lambda: "a mail was not sent" in caplog.text, message="the failure logged")
        assert "ConnectionRefusedError" in caplog.text
        assert client.get("/auth/login").status_code == 200


def test_a_link_works_for_an_hour(app, client, mailbox, monkeypatch):
    signed_in_client(app, "ann")
    path = reset_link(client, mailbox)
    now = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now(self) + 59 * 60)
    assert client.get(path).status_code == 200
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now(self) + 60 * 60 + 1)
    for response in (
        client.get(path),
        client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
    ):
        assert response.status_code == 400
        text = response.get_data(as_text=True)
        assert "This password reset link has expired" in text
        assert '<a href="/auth/reset">Ask for a new link</a>' in text
    monkeypatch.undo()
    assert can_sign_in(app, "password1")


def test_a_link_works_once(app, client, mailbox):
    signed_in_client(app, "ann")
    path = reset_link(client, mailbox)
    done = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302
    again = client.post(path, data={"password": "third password", "confirm": "third password"})
    assert again.status_code == 400
    assert "has already been used" in again.get_data(as_text=True)
    assert client.get(path).status_code == 400
    assert can_sign_in(app, NEW_PASSWORD)


def test_a_link_dies_when_the_password_changes(app, mailbox):
    laptop = signed_in_client(app, "ann")
    path = reset_link(app.test_client(), mailbox)
    changed = laptop.post("/settings/password", data={
        "current_password": "password1", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert changed.status_code == 302
    assert app.test_client().get(path).status_code == 400


def _tampered(path: str) -> list[str]:
    token = path.rsplit("/", 1)[1]
    payload, timestamp, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    return [
        f"{payload}.{timestamp}.{flipped}",
        f"{payload}.{timestamp}",
        f"{payload[:-1]}x.{timestamp}.{signature}",
        "not-a-token",
        "a" * 5000,
        "%00%ff",
    ]


def test_tampered_links_get_a_clear_page(app, client, mailbox):
    signed_in_client(app, "ann")
    path = reset_link(client, mailbox)
    for token in _tampered(path):
        for response in (
            client.get(f"/auth/reset/{token}"),
            client.post(f"/auth/reset/{token}",
                        data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
        ):
            assert response.status_code == 400, token
            assert "Ask for a new link" in response.get_data(as_text=True)
    assert can_sign_in(app, "password1")


def test_a_link_of_a_deleted_account_is_dead(app, mailbox):
    ann = signed_in_client(app, "ann")
    path = reset_link(app.test_client(), mailbox)
    assert ann.post("/settings/delete", data={"password": "password1"}).status_code == 302
    assert app.test_client().get(path).status_code == 400


@pytest.mark.one_database
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"password": "short", "confirm": "short"}, "Use 8 to 128 characters."),
        ({"password": NEW_PASSWORD, "confirm": "something else"}, "The passwords do not match."),
        ({"password": "x" * 129, "confirm": "x" * 129}, "Use 8 to 128 characters."),
        ({"password": "", "confirm": ""}, "Choose a password."),
    ],
)
def test_new_password_follows_the_registration_rules(app, client, mailbox, data, message):
    signed_in_client(app, "ann")
    path = reset_link(client, mailbox)
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert can_sign_in(app, "password1")


@pytest.mark.one_database
@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        (lambda: {"data": {"email": "not an address"}}, 400,
         "Enter an email address, such as name@example.com."),
        (lambda: {"data": {"email": ""}}, 400, "Enter your email address."),
        (lambda: {"data": {"email": (io.BytesIO(b"ann@example.com"), "a.txt")}}, 400,
         "Type text here; files are not accepted."),
        (lambda: {"json": {"email": "ann@example.com"}}, 415, "application/x-www-form-urlencoded"),
    ],
)
def test_bad_reset_requests_get_a_clear_answer(app, client, mailbox, kwargs, status, message):
    signed_in_client(app, "ann")
    response = client.post("/auth/reset", **kwargs())
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    # A well-formed request still gets its mail, and it is the only one.
    assert client.post("/auth/reset", data={"email": "ann@example.com"}).status_code == 200
    assert len(mailbox.wait_for(1)) == 1


def test_reset_requests_are_limited_per_network_address(database):
    with smtp_server() as mailbox, built_app(
        database, MAIL_SERVER="127.0.0.1", MAIL_PORT=mailbox.port, RATELIMIT_RESET="2 per hour"
    ) as app:
        signed_in_client(app, "ann")
        client = app.test_client()
        for email in ("ann@example.com", "nobody@example.com"):
            assert client.post("/auth/reset", data={"email": email}).status_code == 200
        third = client.post("/auth/reset", data={"email": "ann@example.com"})
        assert third.status_code == 429
        assert int(third.headers["Retry-After"]) > 0
        assert "Too many attempts from your network." in third.get_data(as_text=True)
        assert client.get("/auth/reset").status_code == 200
        assert len(mailbox.wait_for(1)) == 1


def test_reset_requests_are_limited_per_address_asked_for(app, mailbox):
    signed_in_client(app, "ann")
    client = app.test_client()
    for _ in range(5):
        assert client.post("/auth/reset", data={"email": "ann@example.com"}).status_code == 200
    for email in ("Ann@Example.com", "ann@example.com"):
        over = client.post("/auth/reset", data={"email": email})
        assert over.status_code == 429
        assert "Too many links were asked for that address." in over.get_data(as_text=True)
    # The same for an address without an account: the limit tells nothing.
    for _ in range(5):
        assert client.post("/auth/reset", data={"email": "nobody@example.com"}).status_code == 200
    assert client.post("/auth/reset", data={"email": "nobody@example.com"}).status_code == 429
    assert client.post("/auth/reset", data={"email": "bob@example.com"}).status_code == 200
    assert len(mailbox.wait_for(5)) == 5


# Change password


def test_change_password_ends_the_other_sessions_only(app, mailbox):
    laptop = signed_in_client(app, "ann")
    phone = another_device(app)
    laptop_socket, phone_socket = connect(app, laptop), connect(app, phone)
    response = laptop.post("/settings/password", data={
        "current_password": "password1", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.location == "/settings/"
    assert "Your password is changed." in laptop.get("/settings/").get_data(as_text=True)
    assert is_signed_in(laptop)
    assert laptop_socket.is_connected()
    assert not is_signed_in(phone)
    assert not phone_socket.is_connected()
    assert can_sign_in(app, NEW_PASSWORD)
    assert not can_sign_in(app, "password1")
    [notice] = mailbox.wait_for(1)
    assert notice.message["Subject"] == "Your fitness_app password was changed"


@pytest.mark.one_database
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"current_password": "wrong-one", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
         "That is not your current password."),
        ({"current_password": "", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
         "Enter your current password."),
        ({"current_password": "password1", "password": "short", "confirm": "short"},
         "Use 8 to 128 characters."),
        ({"current_password": "password1", "password": NEW_PASSWORD, "confirm": "other"},
         "The passwords do not match."),
    ],
)
def test_change_password_refuses_bad_input(app, data, message):
    laptop = signed_in_client(app, "ann")
    phone = another_device(app)
    response = laptop.post("/settings/password", data=data)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert message in text
    assert '<label for="current_password">Current password</label>' in text
    assert is_signed_in(phone)
    assert can_sign_in(app, "password1")


def test_wrong_passwords_on_account_forms_are_limited(app):
    laptop = signed_in_client(app, "ann")
    wrong_change = {"current_password": "guess", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    for _ in range(3):
        assert laptop.post("/settings/password", data=wrong_change).status_code == 400
    for _ in range(2):
        assert laptop.post("/settings/delete", data={"password": "guess"}).status_code == 400
    # Over the limit even the right password is refused: no guess can succeed.
    over = laptop.post("/settings/delete", data={"password": "password1"})
    assert over.status_code == 429
    assert "Too many wrong passwords." in over.get_data(as_text=True)
    assert laptop.post("/settings/password", data=wrong_change).status_code == 429
    assert is_signed_in(laptop)
    assert can_sign_in(app, "password1")
    # Another user's count is their own.
    assert signed_in_client(app, "bob").post("/settings/delete", data={"password": "guess"}
                                      ).status_code == 400


def test_account_pages_need_a_login(client):
    for method, path in [("get", "/settings/export"), ("post", "/settings/password"),
                         ("post", "/settings/delete"), ("get", "/settings/delete")]:
        response = getattr(client, method)(path)
        assert response.status_code == 302, path
        assert response.location.startswith("/auth/login"), path


def test_the_settings_page_has_the_three_account_forms(app):
    html = signed_in_client(app, "ann").get("/settings/").get_data(as_text=True)
    for label in (
        '<label for="current_password">Current password</label>',
        '<label for="new_password">New password</label>',
        '<label for="new_password_confirm">Repeat password</label>',
        '<label for="delete_password">Password</label>',
    ):
        assert label in html
    assert 'action="/settings/password"' in html
    assert 'action="/settings/delete"' in html
    assert 'href="/settings/export"' in html
    assert 'action="/auth/logout-everywhere"' in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


# Export


def _populate(app: Flask) -> tuple[FlaskClient, FlaskClient]:
    """ann: two workouts (one planned), a reached goal, an announcement read; bob: his own."""
    ann = signed_in_client(app, "ann")
    bob = signed_in_client(app, "bob")
    make_admin(app, "bob@example.com")
    assert ann.post("/goals/new", data={"kind": "workouts", "target": "1", "period": "week"}
                    ).status_code == 302
    log_workout(ann, title="Morning run")
    log_workout(ann, title="Planned swim", activity="swim", completed=None)
    log_workout(bob, title="Bob's ride", activity="ride")
    assert bob.post("/admin/broadcast", data={"message": "Gym closed Monday"}).status_code == 302
    api = ann.get("/api/notifications?after=0").get_json()["notifications"]
    announcement = next(n for n in api if n["kind"] == "announcement")
    assert ann.post(f"/notifications/{announcement['id']}/read").status_code == 302
    return ann, bob


def _download(client: FlaskClient) -> tuple[dict, str]:
    response = client.get("/settings/export")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert re.fullmatch(r'attachment; filename="fitness_app-export-\d{4}-\d\d-\d\d\.json"',
                        response.headers["Content-Disposition"])
    assert response.is_streamed
    text = response.get_data(as_text=True)
    return json.loads(text), text


def test_export_holds_everything_of_the_user_and_nothing_else(app):
    ann, _ = _populate(app)
    data, text = _download(ann)
    with app.app_context():
        password_hash = db.session.scalar(sa.select(User.password_hash).filter_by(username="ann"))
    assert password_hash not in text
    assert "password" not in text
    assert data["format"] == "fitness_app.export" and data["version"] == 1
    assert data["exported_at"].endswith("Z")
    profile = data["profile"]
    assert profile["username"] == "ann" and profile["email"] == "ann@example.com"
    user_columns = {column.key for column in User.__table__.columns}
    assert set(profile) == user_columns - {"password_hash"}

    workouts = {w["title"]: w for w in data["workouts"]}
    assert set(workouts) == {"Morning run", "Planned swim"}
    assert workouts["Morning run"]["completed"] is True
    assert workouts["Morning run"]["distance_km"] == 6.2
    assert workouts["Morning run"]["duration_minutes"] == 31
    assert workouts["Planned swim"]["completed"] is False
    assert workouts["Planned swim"]["completed_at"] is None

    [goal] = data["goals"]
    assert (goal["kind"], goal["target"], goal["period"]) == ("workouts", 1, "week")
    [achievement] = data["achievements"]
    assert achievement["goal_id"] == goal["id"]

    kinds = [(n["kind"], n["announcement"], n["read"]) for n in data["notifications"]]
    assert sorted(kinds) == [("announcement", True, True), ("goal_achieved", False, False),
                             ("workout_completed", False, False)]
    assert "Bob's ride" not in text


def test_export_pages_read_the_same_document(app, monkeypatch):
    ann, _ = _populate(app)
    for title in ("Second run", "Third run", "Fourth run"):
        log_workout(ann, title=title)
    whole, _ = _download(ann)
    monkeypatch.setattr(export, "PAGE_SIZE", 1)
    paged, _ = _download(ann)
    for section in ("profile", "workouts", "goals", "achievements", "notifications"):
        assert paged[section] == whole[section], section
    assert len(paged["workouts"]) == 5
    assert len(paged["notifications"]) == 1 + 4 + 1


# Delete


def _rows_of(app: Flask, user_id: int) -> dict[str, int]:
    """Rows in every table that point at the user: by ondelete CASCADE or SET NULL."""
    counts = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for fk in table.foreign_keys:
                if fk.column.table.name == "users":
                    query = sa.select(sa.func.count()).select_from(table).where(
                        fk.parent == user_id)
                    counts[f"{table.name}.{fk.parent.name}"] = db.session.scalar(query)
        counts["users"] = db.session.scalar(
            sa.select(sa.func.count()).select_from(User).where(User.id == user_id))
    return counts


def _user_id(app: Flask, username: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(User.id).filter_by(username=username))


def test_every_reference_to_a_user_is_indexed():
    """Deleting a user makes the database find every row that points at them:
    with an index leading on the column that is a lookup, without one a scan
    of the whole table, which grows with everybody's history."""
    unindexed = []
    for table in db.metadata.sorted_tables:
        leading = {index.columns[0].name for index in table.indexes}
        leading |= {c.columns[0].name for c in table.constraints
                    if isinstance(c, sa.PrimaryKeyConstraint | sa.UniqueConstraint) and c.columns}
        for fk in table.foreign_keys:
            if fk.column.table.name == "users" and fk.parent.name not in leading:
                unindexed.append(f"{table.name}.{fk.parent.name}")
    assert unindexed == []


def test_delete_with_a_wrong_password_deletes_nothing(app):
    ann, _ = _populate(app)
    socket = connect(app, ann)
    before = _rows_of(app, _user_id(app, "ann"))
    assert before["workouts.user_id"] == 2 and before["users"] == 1
    for data in ({"password": "not-mine"}, {"password": ""}, {}):
        response = ann.post("/settings/delete", data=data)
        assert response.status_code == 400
        text = response.get_data(as_text=True)
        assert '<label for="delete_password">Password</label>' in text
        assert "This cannot be undone." in text
    assert "Nothing was deleted." in ann.post(
        "/settings/delete", data={"password": "not-mine"}).get_data(as_text=True)
    assert _rows_of(app, _user_id(app, "ann")) == before
    assert is_signed_in(ann)
    assert socket.is_connected()


def test_delete_removes_everything_and_ends_every_session(app):
    ann, bob = _populate(app)
    make_admin(app, "ann@example.com")
    assert ann.post("/admin/broadcast", data={"message": "From ann"}).status_code == 302
    phone = another_device(app)
    sockets = [connect(app, ann), connect(app, phone)]
    bob_socket = connect(app, bob)
    ann_id, bob_id = _user_id(app, "ann"), _user_id(app, "bob")
    bob_before = _rows_of(app, bob_id)

    page = ann.get("/settings/delete")
    assert page.status_code == 200
    assert "This cannot be undone." in page.get_data(as_text=True)
    response = ann.post("/settings/delete", data={"password": "password1"})
    assert response.status_code == 302
    assert response.location == "/auth/login"

    assert all(count == 0 for count in _rows_of(app, ann_id).values()), _rows_of(app, ann_id)
    assert _rows_of(app, bob_id) == bob_before
    assert not any(socket.is_connected() for socket in sockets)
    assert bob_socket.is_connected()
    assert not is_signed_in(ann) and not is_signed_in(phone)
    assert not can_sign_in(app, "password1")
    # ann's announcement stays for everyone else, without an author.
    bob_inbox = bob.get("/api/notifications?after=0").get_json()["notifications"]
    assert "From ann" in [n["message"] for n in bob_inbox]
    # The address is free again.
    assert signed_in_client(app, "ann").get("/").status_code == 200
