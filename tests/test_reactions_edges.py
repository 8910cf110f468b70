"""Kudos and comments at their edges: reports, limits, deletion, the export, cost, races.

The rules people meet every day are in tests/test_kudos_comments.py, whose
helpers these tests share.
"""

from __future__ import annotations

import json
import threading

import pytest
import sqlalchemy as sa
from flask import Flask

from fitness_app.extensions import db, socketio
from fitness_app.models import Comment, Kudos, User, Workout
from tests.conftest import signed_in_client
from tests.databases import POSTGRESQL
from tests.test_kudos_comments import counters, people, public_workout


def test_reports_reach_the_admins_who_delete_or_dismiss(app):
    c = people(app, "owner", "bob", "carl")
    admin = signed_in_client(app, "root", admin=True)
    workout = public_workout(app, c["owner"], "owner")
    c["bob"].post(f"/workouts/{workout}/comments", data={"body": "<b>rude</b> words"})
    c["bob"].post(f"/workouts/{workout}/comments", data={"body": "kind words"})
    with app.app_context():
        rude, kind = db.session.scalars(sa.select(Comment.id).order_by(Comment.id)).all()
    assert c["carl"].post(f"/comments/{rude}/report", data={"reason": "Insulting"}) \
        .status_code == 303
    assert c["carl"].post(f"/comments/{rude}/report", data={}).status_code == 303  # still one
    assert c["owner"].post(f"/comments/{kind}/report").status_code == 303
    assert c["carl"].post(f"/comments/{kind}/report",
                          data={"reason": "r" * 501}).status_code == 400
    assert c["carl"].post("/comments/999999/report").status_code == 404

    assert c["carl"].get("/admin/reports").status_code == 403
    page = admin.get("/admin/reports").text
    assert page.count('class="item card report"') == 2
    assert "&lt;b&gt;rude&lt;/b&gt; words" in page and "Reason: Insulting" in page
    assert '<a class="user-link" href="/u/bob">bob</a>' in page
    assert f'href="/workouts/{workout}#comment-{rude}">on “Tempo run”</a>' in page

    assert admin.post(f"/admin/reports/{kind}/dismiss").status_code == 303
    assert admin.post(f"/admin/reports/{kind}/dismiss").status_code == 404
    assert admin.post(f"/admin/reports/{rude}/delete").status_code == 303
    assert "No open reports." in admin.get("/admin/reports").text
    workout_page = c["carl"].get(f"/workouts/{workout}").text
    assert "rude" not in workout_page and "kind words" in workout_page
    assert counters(app, workout) == (0, 1)
    assert c["carl"].post(f"/admin/reports/{kind}/dismiss").status_code == 403


def test_a_deleted_comment_is_quoted_by_no_inbox_api_replay_or_export(app):
    """An admin deletes a reported comment: the owner's and earlier commenters' notifications
    keep their place and link, but none of them quotes its words any more."""
    c = people(app, "owner", "carl", "bob")
    admin = signed_in_client(app, "root", admin=True)
    workout = public_workout(app, c["owner"], "owner")
    c["carl"].post(f"/workouts/{workout}/comments", data={"body": "first"})
    c["bob"].post(f"/workouts/{workout}/comments", data={"body": "vile words"})
    with app.app_context():
        rude = db.session.scalar(sa.select(Comment.id).where(Comment.body == "vile words"))
    for reader in (c["owner"], c["carl"]):
        assert "vile words" in reader.get("/notifications/").text
    c["carl"].post(f"/comments/{rude}/report", data={"reason": "Insulting"})
    assert admin.post(f"/admin/reports/{rude}/delete").status_code == 303

    for reader in (c["owner"], c["carl"]):
        inbox = reader.get("/notifications/").text
        assert "vile words" not in inbox and "This comment was deleted." in inbox
        assert f'href="/workouts/{workout}"' in inbox
        [note] = [n for n in reader.get("/api/notifications?after=0").json["notifications"]
                  if n["kind"] == "comment" and n["data"]["comment_id"] == rude]
        assert note["message"] == "This comment was deleted."
        assert note["url"] == f"/workouts/{workout}"
        socket = socketio.test_client(app, flask_test_client=reader, auth={"last_id": 0})
        replayed = [e["args"][0]["message"] for e in socket.get_received()
                    if e["name"] == "notification"]
        socket.disconnect()
        assert "This comment was deleted." in replayed
        assert not any("vile words" in m for m in replayed)
        export = reader.get("/settings/export").get_data(as_text=True)
        assert "vile words" not in export and "This comment was deleted." in export
    # Carl's own comment was not deleted: the owner's notification still quotes it.
    assert "carl on “Tempo run”: first" in c["owner"].get("/notifications/").text


def test_limits_allow_60_kudos_and_10_comments_a_minute_then_429(app):
    c = people(app, "owner", "bob")
    workout = public_workout(app, c["owner"], "owner")
    for _ in range(60):
        assert c["bob"].post(f"/workouts/{workout}/kudos").status_code == 303
    over = c["bob"].post(f"/workouts/{workout}/kudos")
    assert over.status_code == 429 and 1 <= int(over.headers["Retry-After"]) <= 60
    for n in range(10):
        assert c["bob"].post(f"/workouts/{workout}/comments",
                             data={"body": f"n{n}"}).status_code == 303
    over = c["bob"].post(f"/workouts/{workout}/comments", data={"body": "one more"})
    assert over.status_code == 429 and int(over.headers["Retry-After"]) >= 1
    assert "Try again" in over.text
    # Per user: the owner still may.
    assert c["owner"].post(f"/workouts/{workout}/comments", data={"body": "ok"}) \
        .status_code == 303


def test_deleting_an_account_takes_its_kudos_and_comments_off_the_counters(app):
    c = people(app, "owner", "bob")
    workout = public_workout(app, c["owner"], "owner")
    c["bob"].post(f"/workouts/{workout}/kudos")
    c["bob"].post(f"/workouts/{workout}/comments", data={"body": "one"})
    c["bob"].post(f"/workouts/{workout}/comments", data={"body": "two"})
    c["owner"].post(f"/workouts/{workout}/comments", data={"body": "mine"})
    assert counters(app, workout) == (1, 3)
    assert c["bob"].post("/settings/delete", data={"password": "password1"}).status_code == 302
    assert counters(app, workout) == (0, 1)
    page = c["owner"].get(f"/workouts/{workout}").text
    assert "mine" in page and "one" not in page.split('id="comments"')[1].split("<form")[0]


def test_deleting_a_workout_takes_its_kudos_and_comments(app):
    c = people(app, "owner", "bob")
    workout = public_workout(app, c["owner"], "owner")
    c["bob"].post(f"/workouts/{workout}/kudos")
    c["bob"].post(f"/workouts/{workout}/comments", data={"body": "one"})
    assert c["owner"].post(f"/workouts/{workout}/delete").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Kudos)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0


def test_the_export_holds_kudos_given_and_comments_written_that_one_may_see(app):
    c = people(app, "owner", "bob")
    seen = public_workout(app, c["owner"], "owner", title="Seen")
    hidden = public_workout(app, c["owner"], "owner", title="Hidden later")
    for workout in (seen, hidden):
        c["bob"].post(f"/workouts/{workout}/kudos")
        c["bob"].post(f"/workouts/{workout}/comments", data={"body": f"on {workout}"})
    with app.app_context():
        db.session.execute(sa.update(Workout).where(Workout.id == hidden)
                           .values(visibility="private"))
        db.session.commit()
    document = json.loads(c["bob"].get("/settings/export").data)
    assert [k["workout_id"] for k in document["kudos_given"]] == [seen]
    assert document["kudos_given"][0]["created_at"].endswith("Z")
    assert [(x["workout_id"], x["body"]) for x in document["comments_written"]] == [
        (seen, f"on {seen}")]
    mine = json.loads(c["owner"].get("/settings/export").data)
    assert mine["kudos_given"] == [] and mine["comments_written"] == []


def statements_of(app: Flask, request) -> list[str]:
    """The SQL statements one request runs (not the background dispatchers' ones)."""
    seen: list[str] = []
    me = threading.get_ident()

    def record(conn, cursor, statement, *args) -> None:
        if threading.get_ident() == me:
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        response = request()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 303
    return seen


def test_a_kudos_costs_the_same_on_a_workout_with_hundreds_already(app):
    """1,000 people giving kudos in a minute: each is the same small transaction."""
    c = people(app, "owner", "bob", "carl")
    quiet = public_workout(app, c["owner"], "owner", title="Quiet")
    popular = public_workout(app, c["owner"], "owner", title="Popular")
    with app.app_context():
        fans = [User(username=f"fan{n}", email=f"fan{n}@example.com", password_hash="-")
                for n in range(300)]
        db.session.add_all(fans)
        db.session.flush()
        db.session.add_all(Kudos(workout_id=popular, user_id=fan.id) for fan in fans)
        db.session.execute(sa.update(Workout).where(Workout.id == popular)
                           .values(kudos_count=len(fans)))
        db.session.commit()
    first = statements_of(app, lambda: c["bob"].post(f"/workouts/{quiet}/kudos"))
    later = statements_of(app, lambda: c["carl"].post(f"/workouts/{popular}/kudos"))
    assert len(first) == len(later)
    assert not any("count(" in s.lower() for s in later)
    assert counters(app, popular) == (301, 0)
    page = c["owner"].get(f"/workouts/{popular}").text
    assert '<a class="user-link" href="/u/carl">carl</a>' in page and "and 296 more" in page


@pytest.mark.parametrize("database", [POSTGRESQL], indirect=True)
@pytest.mark.parametrize("action", ["kudos", "comments"])
def test_a_workout_deleted_between_the_check_and_the_insert_is_a_404(app, database, action):
    """PostgreSQL runs the deletion beside the reaction: the INSERT then finds no workout."""
    c = people(app, "owner", "bob")
    workout = public_workout(app, c["owner"], "owner")
    with app.app_context():
        engine = db.engine
    other = sa.create_engine(database)
    table = "kudos" if action == "kudos" else "comments"

    deleted = threading.Event()

    def delete_first(conn, cursor, statement, *args) -> None:
        if statement.startswith(f"INSERT INTO {table}") and not deleted.is_set():
            deleted.set()
            with other.begin() as deleting:
                deleting.execute(sa.text("DELETE FROM workouts WHERE id = :id"),
                                 {"id": workout})

    sa.event.listen(engine, "before_cursor_execute", delete_first)
    try:
        response = c["bob"].post(f"/workouts/{workout}/{action}", data={"body": "Hi"})
    finally:
        sa.event.remove(engine, "before_cursor_execute", delete_first)
        other.dispose()
    assert deleted.is_set() and response.status_code == 404
