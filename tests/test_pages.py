"""Error pages, the health check, and the inbox pages."""

from __future__ import annotations

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
    assert b"Not found" in response.data


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
    assert [n["message"].split(": ")[1].split(",")[0] for n in everything["notifications"]] == [
        "One", "Two", "Three"]
    assert everything["unread"] == 3
    first_id = everything["notifications"][0]["id"]
    later = client.get(f"/api/notifications?after={first_id}").json
    assert len(later["notifications"]) == 2
    note = later["notifications"][0]
    assert set(note) == {"id", "kind", "title", "message", "created_at", "data", "silent"}
    assert note["created_at"].endswith("Z")


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
