"""Error pages, the health check, and the inbox pages."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from fitness_app.extensions import db
from tests.conftest import AuthActions, built_app, log_workout, make_admin


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_healthz_reports_an_unreachable_database(app, client):
    with app.app_context():
        db.engine.dispose()
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:////nonexistent-dir/x.db"
    with app.app_context():
        app.extensions["sqlalchemy"]._app_engines[app][None] = sa.create_engine(
            "sqlite:////nonexistent-dir/x.db"
        )
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable"}


def test_404_page(client, auth):
    auth.register()
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert b"Page not found" in response.data and b"The requested URL" not in response.data


def test_403_for_non_admin_and_login_redirect_for_anonymous(client, auth):
    assert client.get("/admin/").status_code == 302
    auth.register()
    response = client.get("/admin/")
    assert response.status_code == 403
    assert b"Not allowed" in response.data


def test_500_rolls_back_and_shows_a_page(database):
    with built_app(database, PROPAGATE_EXCEPTIONS=False) as app:

        @app.get("/boom")
        def boom():
            db.session.execute(sa.text("SELECT * FROM no_such_table"))

        client = app.test_client()
        AuthActions(client).register()
        response = client.get("/boom")
        assert response.status_code == 500
        assert b"Something went wrong" in response.data
        # The session was rolled back, so the next request works.
        assert client.get("/").status_code == 200


def test_api_notifications_needs_login(client):
    response = client.get("/api/notifications")
    assert response.status_code == 401
    assert response.json == {"error": "unauthorized"}


@pytest.mark.one_database
@pytest.mark.parametrize("after", ["-1", "abc", "1.5"])
def test_api_notifications_rejects_bad_after(client, auth, after):
    auth.register()
    response = client.get(f"/api/notifications?after={after}")
    assert response.status_code == 400
    assert "error" in response.json


def test_api_notifications_after(client, auth):
    auth.register()
    for title in ["One", "Two", "Three"]:
        log_workout(client, title=title)
    everything = client.get("/api/notifications").json
    assert [n["message"].split(",")[0] for n in everything["notifications"]] == [
        "One", "Two", "Three"]
    assert everything["unread"] == 3
    first_id = everything["notifications"][0]["id"]
    later = client.get(f"/api/notifications?after={first_id}").json
    assert len(later["notifications"]) == 2
    note = later["notifications"][0]
    assert set(note) == {"id", "kind", "title", "message", "created_at", "data", "url", "silent",
                         "group"}
    assert note["group"] == str(note["id"])
    assert note["created_at"].endswith("Z")
    assert note["url"] == f"/workouts/{note['data']['workout_id']}"
    assert client.get(note["url"]).status_code == 200


def test_inbox_marks_unread_and_read(client, auth):
    auth.register()
    log_workout(client, title="One")
    log_workout(client, title="Two")
    page = client.get("/notifications/").data.decode()
    assert page.count("inbox-item unread") == 2
    ids = [n["id"] for n in client.get("/api/notifications").json["notifications"]]
    assert client.post(f"/notifications/{ids[0]}/read").status_code == 302
    assert client.get("/notifications/").data.decode().count("inbox-item unread") == 1
    assert client.get("/api/notifications").json["unread"] == 1
    client.post("/notifications/read-all")
    assert client.get("/api/notifications").json["unread"] == 0
    assert client.post("/notifications/999999/read").status_code == 404


def test_admin_page_for_admin(app, client, auth):
    auth.register()
    make_admin(app, "ann@example.com")
    page = client.get("/admin/").data.decode()
    assert '<label for="message">Announcement</label>' in page
    assert "Online now" in page


def test_a_new_user_gets_first_steps_then_the_dashboard(client, auth):
    auth.register()
    first = client.get("/").get_data(as_text=True)
    assert "Log your first workout" in first and "Set your first goal" in first
    assert "<svg" not in first
    log_workout(client, title="First run", duration_minutes="75")
    page = client.get("/").get_data(as_text=True)
    assert "Log your first workout" not in page and "<svg" in page
    assert "First run" in page and "Today" in page and "1 h 15 min" in page


def test_the_dashboard_cards_alone_are_what_the_page_shows(client, auth):
    assert "/auth/login" in client.get("/dashboard/live").headers["Location"]
    auth.register()
    log_workout(client, title="First run", duration_minutes="75")
    client.post("/goals/new", data={"kind": "workouts", "target": "1", "period": "week"})
    cards = client.get("/dashboard/live").get_data(as_text=True)
    page = client.get("/").get_data(as_text=True)
    assert "<html" not in cards and "<h1>" not in cards
    keys = re.findall(r'data-live-key="(\w+)"', cards)
    assert keys == ["summary", "week", "goals", "streak", "recent"]
    assert cards.strip() in page
    assert "Achieved" in cards and "First run" in cards


def test_lists_use_plain_words_and_show_pages_only_when_there_are_several(client, auth):
    auth.register()
    log_workout(client, title="Only one")
    page = client.get("/workouts/").get_data(as_text=True)
    assert "1 workout, newest first." in page
    assert "Page 1 of" not in page
    assert f">{date.today().isoformat()}<" not in page and ">Today</time>" in page
    inbox = client.get("/notifications/").get_data(as_text=True)
    assert "Page 1 of" not in inbox and 'href="/workouts/1"' in inbox
    assert "UTC" in inbox and "data-relative" in inbox


def test_signed_out_home_is_the_sign_in_page_that_explains_the_app(client):
    response = client.get("/")
    assert response.status_code == 302 and response.location.startswith("/auth/login")
    page = client.get(response.location).get_data(as_text=True)
    assert "Please sign in" not in page
    assert "Stride keeps your workouts and goals in one place" in page
    assert 'href="/auth/register"' in page and '<label for="email">Email</label>' in page
