"""Each input that used to give a 500 now gets a 4xx with a message and changes nothing."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import Goal, Notification, User, Workout
from tests.conftest import log_workout, make_admin

FORMS = {
    "/auth/register": {"username": "zed", "email": "zed@example.com",
                       "password": "password1", "confirm": "password1"},
    "/workouts/new": {"title": "Run", "activity": "run", "duration_minutes": "30",
                      "performed_on": "2024-01-01", "completed": "y"},
    "/goals/new": {"kind": "workouts", "target": "3", "period": "week"},
    "/admin/broadcast": {"message": "Hello"},
}
TEXT_FIELDS = {"/auth/register": "username", "/workouts/new": "title",
               "/goals/new": "kind", "/admin/broadcast": "message"}


def counts(app) -> tuple[int, ...]:
    with app.app_context():
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                     for model in (User, Workout, Goal, Notification))


@pytest.fixture
def admin_client(app, auth, client):
    auth.register()
    make_admin(app, "ann@example.com")
    return client


def client_for(path, app, admin_client):
    return app.test_client() if path == "/auth/register" else admin_client


# Validation happens before any query: one database is enough for these.
sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@sqlite_only
@pytest.mark.parametrize("path", FORMS)
def test_a_json_body_is_refused_with_415(app, admin_client, path):
    before = counts(app)
    for value in [42, True, {"a": 1}, [1, 2], None]:
        body = {**FORMS[path], TEXT_FIELDS[path]: value}
        response = client_for(path, app, admin_client).post(
            path, data=json.dumps(body), content_type="application/json")
        assert response.status_code == 415, value
        assert "application/x-www-form-urlencoded" in response.get_data(as_text=True)
    response = client_for(path, app, admin_client).post(
        path, data='"just a string"', content_type="application/json")
    assert response.status_code == 415
    assert counts(app) == before


@sqlite_only
@pytest.mark.parametrize("path", FORMS)
def test_a_file_where_text_belongs_is_a_field_error(app, admin_client, path):
    before = counts(app)
    data = {**FORMS[path], TEXT_FIELDS[path]: (io.BytesIO(b"\x00\x01"), "notes.bin")}
    response = client_for(path, app, admin_client).post(
        path, data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Type text here; files are not accepted." in response.get_data(as_text=True)
    assert counts(app) == before


@pytest.mark.parametrize("path", FORMS)
def test_a_nul_character_is_a_field_error(app, admin_client, path):
    before = counts(app)
    data = {**FORMS[path], TEXT_FIELDS[path]: "a\x00b"}
    response = client_for(path, app, admin_client).post(path, data=data)
    assert response.status_code == 400
    assert "Remove the control characters from this field." in response.get_data(as_text=True)
    assert counts(app) == before


@sqlite_only
def test_a_form_sent_as_multipart_text_still_works(app, admin_client):
    response = admin_client.post("/workouts/new", data=FORMS["/workouts/new"],
                                 content_type="multipart/form-data")
    assert response.status_code == 302


@sqlite_only
def test_an_empty_body_is_an_empty_form(app, admin_client):
    response = admin_client.post("/workouts/new")
    assert response.status_code == 400
    assert "Give the workout a title." in response.get_data(as_text=True)


@sqlite_only
def test_an_enormous_duration_is_a_field_error(admin_client):
    response = log_workout(admin_client, duration_minutes="9" * 400)
    assert response.status_code == 400
    assert "Enter a duration from 1 to 1440 minutes." in response.get_data(as_text=True)
    # Beyond Python's 4300-digit limit for int(), it is not a number at all.
    response = log_workout(admin_client, duration_minutes="1" * 5000)
    assert response.status_code == 400
    assert "Enter a whole number." in response.get_data(as_text=True)


def test_an_id_beyond_any_stored_id_is_a_404(admin_client):
    for path in ["/workouts/99999999999999999999/edit", "/workouts/9223372036854775808/edit",
                 "/workouts/2147483648/edit"]:
        assert admin_client.get(path).status_code == 404, path
    for path in ["/goals/99999999999999999999/delete",
                 "/notifications/99999999999999999999/read",
                 "/workouts/99999999999999999999/complete",
                 "/workouts/99999999999999999999/delete"]:
        assert admin_client.post(path).status_code == 404, path


def test_a_page_number_out_of_range_is_a_404_and_nonsense_is_page_one(admin_client):
    for path in ["/workouts/", "/notifications/"]:
        assert admin_client.get(f"{path}?page=99999999999999999999").status_code == 404
        assert admin_client.get(f"{path}?page=2147483648").status_code == 404
        assert admin_client.get(f"{path}?page=abc").status_code == 200
        assert admin_client.get(f"{path}?page=5000").status_code == 200


@sqlite_only
def test_after_accepts_plain_digits_only(admin_client):
    for after in ["²", "-1", "1.5", " 1", "0x1", "١"]:
        response = admin_client.get("/api/notifications", query_string={"after": after})
        assert response.status_code == 400, after
        assert "plain digits" in response.get_json()["error"]


def test_after_beyond_any_id_is_an_empty_list(admin_client):
    response = admin_client.get("/api/notifications?after=99999999999999999999")
    assert response.status_code == 200
    assert response.get_json()["notifications"] == []


@sqlite_only
def test_a_body_over_the_size_limit_is_a_413(app, admin_client):
    big = {"title": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)}
    assert admin_client.post("/workouts/new", data=big).status_code == 413
