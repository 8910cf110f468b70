"""The daily digest email through a real SMTP server (aiosmtpd), and its one-click unsubscribe.

The clock is moved with time-machine; the scheduler's turn is `loop.run_due()`;
the email leaves from the process's mail task, as in production.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from deploy.processes import wait_until
from fitness_app.extensions import db
from fitness_app.models import DueItem, User
from fitness_app.services.notifications import store
from fitness_app.services.notifications.delivery import delivery
from fitness_app.services.schedule import loop
from tests.conftest import built_app
from tests.smtp import Mailbox, smtp_server

PUBLIC = "https://stride.example"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def mailbox():
    with smtp_server() as mailbox:
        yield mailbox


@pytest.fixture
def clock():
    with time_machine.travel(utc(2026, 3, 20, 9), tick=False) as traveller:
        yield traveller


@pytest.fixture
def app(database: str, mailbox: Mailbox, clock):
    with built_app(database, MAIL_SERVER="127.0.0.1", MAIL_PORT=mailbox.port,
                   PUBLIC_URL=PUBLIC, WTF_CSRF_ENABLED=True) as app:
        yield app


def register(app: Flask, username: str, digest_time: str = "20:00") -> FlaskClient:
    client = app.test_client()
    client.post("/auth/register", data={
        "username": username, "email": f"{username}@example.com", "password": "password1",
        "confirm": "password1", "csrf_token": token(client, "/auth/register")})
    digest_at(client, digest_time)
    return client


def digest_at(client: FlaskClient, digest_time: str) -> None:
    response = client.post("/settings/", data={
        "timezone": "Europe/Berlin", "reminder_minutes": "30", "digest_time": digest_time,
        "csrf_token": token(client, "/settings/")})
    assert response.status_code == 302


def token(client: FlaskClient, page: str) -> str:
    """The CSRF token a browser would send, from the page's form or its meta tag."""
    text = client.get(page).data.decode()
    match = CSRF.search(text) or META.search(text)
    assert match, f"no CSRF token on {page}"
    return match.group(1)


def user_id(app: Flask, username: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.username == username))


def notify(app: Flask, username: str, title: str, message: str = "Well done") -> int:
    """Store a notification the usual way: `notify` inside `delivery()`."""
    with app.app_context(), delivery():
        return store.notify(user_id(app, username), "workout_completed", title, message).id


def turn(app: Flask) -> int:
    with app.app_context():
        return loop.run_due()


def test_the_digest_lists_the_unread_of_the_last_day_and_unsubscribes_in_one_click(
        app, mailbox, clock):
    ann = register(app, "ann", digest_time="")
    clock.move_to(utc(2026, 3, 20, 18))  # 19:00 in Berlin, the day before
    notify(app, "ann", "Too old", "from more than 24 hours before")
    clock.move_to(utc(2026, 3, 20, 19, 30))
    read = notify(app, "ann", "Already read")
    ann.post(f"/notifications/{read}/read", data={"csrf_token": token(ann, "/notifications/")})
    clock.move_to(utc(2026, 3, 21, 8))
    digest_at(ann, "20:00")
    notify(app, "ann", "Morning run", "Tempo run, 6.2 km in 31 min")
    clock.move_to(utc(2026, 3, 21, 12))
    notify(app, "ann", "Lunch swim", "Swim, 1.5 km in 40 min")

    clock.move_to(utc(2026, 3, 21, 19, 0, 2))  # 20:00 in Berlin
    assert turn(app) == 1
    [mail] = mailbox.wait_for(1)
    assert mail.recipients == ["ann@example.com"]
    assert mail.message["Subject"] == "2 unread notifications on fitness_app"
    body = mail.body
    assert body.index("Lunch swim: Swim, 1.5 km in 40 min (Sat 13:00)") < body.index(
        "Morning run: Tempo run, 6.2 km in 31 min (Sat 09:00)")
    assert "Too old" not in body and "Already read" not in body
    assert f"{PUBLIC}/notifications/" in body
    assert "every day at 20:00 (Europe/Berlin)" in body
    header = str(mail.message["List-Unsubscribe"]).strip()  # a long header is folded
    assert header.startswith(f"<{PUBLIC}/digest/unsubscribe/") and header.endswith(">")
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = header[1:-1]
    assert link in body

    # A person opening the link sees a page with a button; nothing changes yet.
    path = urlsplit(link).path
    visitor = app.test_client()
    page = visitor.get(path)
    assert page.status_code == 200
    assert "Stop the daily digest" in page.data.decode()
    with app.app_context():
        assert db.session.get(User, user_id(app, "ann")).digest_time is not None
    # The mail client's one-click POST (RFC 8058): no cookie, no CSRF token.
    answer = visitor.post(path, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    assert "gets no more daily digest emails" in answer.data.decode()
    with app.app_context():
        assert db.session.get(User, user_id(app, "ann")).digest_time is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DueItem)) == 0
    settings = ann.get("/settings/").data.decode()
    assert 'id="digest_time" name="digest_time" type="time" value=""' in settings


def test_no_email_when_nothing_is_unread_and_at_most_twenty(app, mailbox, clock):
    clock.move_to(utc(2026, 3, 20, 20))  # after today's 20:00 in Berlin: the first is tomorrow
    ann = register(app, "ann")
    register(app, "bob")
    clock.move_to(utc(2026, 3, 21, 10))
    for number in range(25):
        notify(app, "bob", f"Workout {number}")
    notify(app, "ann", "Read already")
    ann.post("/notifications/read-all", data={"csrf_token": token(ann, "/notifications/")})

    clock.move_to(utc(2026, 3, 21, 19))
    assert turn(app) == 2
    # A reset mail queued after the digests arrives after them, in queue order.
    stranger = app.test_client()
    response = stranger.post("/auth/reset", data={
        "email": "ann@example.com", "csrf_token": token(stranger, "/auth/reset")})
    assert response.status_code == 200
    mails = mailbox.wait_for(2)
    assert [m.recipients for m in mails] == [["bob@example.com"], ["ann@example.com"]]
    assert "reset" in mails[1].message["Subject"].lower()
    digest = mails[0]
    assert digest.message["Subject"] == "20+ unread notifications on fitness_app"
    listed = [line for line in digest.body.splitlines() if line.startswith("- Workout")]
    assert listed == [f"- Workout {n}: Well done (Sat 11:00)" for n in range(24, 4, -1)]
    assert "- … and more in your inbox." in digest.body
    # Tomorrow again, on the user's clock.
    with app.app_context():
        dues = sorted(db.session.scalars(sa.select(DueItem.due_at)))
    assert [d.replace(tzinfo=UTC) if d.tzinfo is None else d for d in dues] == [
        utc(2026, 3, 22, 19)] * 2


def test_a_forged_or_stale_unsubscribe_link_changes_nothing(app, mailbox, clock):
    register(app, "ann")
    visitor = app.test_client()
    for path in ("/digest/unsubscribe/forged", "/digest/unsubscribe/WzEsImFubiJd.bad"):
        assert visitor.get(path).status_code == 404
        response = visitor.post(path, data={"List-Unsubscribe": "One-Click"})
        assert response.status_code == 404
        assert "not complete" in response.data.decode()
    with app.app_context():
        assert db.session.get(User, user_id(app, "ann")).digest_time is not None


def test_a_digest_is_sent_at_most_once(app, mailbox, clock, caplog):
    """Claimed before it leaves: a refused send is lost, never sent twice; tomorrow's comes.

    The turn moves the digest's row to tomorrow in its COMMIT and only then
    queues the mail, so a mail server that refuses it (or a crash before it
    leaves) costs that day's digest, and no later turn, here or in another
    worker, sends it again.
    """
    clock.move_to(utc(2026, 3, 20, 20))  # after today's 20:00 in Berlin: the first is tomorrow
    register(app, "ann")
    clock.move_to(utc(2026, 3, 21, 10))
    notify(app, "ann", "Morning run")
    mailbox.refusing = True
    clock.move_to(utc(2026, 3, 21, 19))
    assert turn(app) == 1
    wait_until(lambda: "a mail was not sent" in caplog.text, timeout=10,
               message="the refused digest to be logged")
    mailbox.refusing = False
    clock.move_to(utc(2026, 3, 21, 21, 59))
    assert turn(app) == 0
    assert mailbox.refused == 1 and mailbox.messages == []

    clock.move_to(utc(2026, 3, 22, 12))
    notify(app, "ann", "Lunch swim")
    clock.move_to(utc(2026, 3, 22, 19))
    assert turn(app) == 1
    [mail] = mailbox.wait_for(1)
    assert "Lunch swim" in mail.body
