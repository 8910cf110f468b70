"""Kudos and comments as people use them: the page, the notifications, who may act.

Follows and blocks are written straight into their tables: this file tests
kudos and comments, not how people come to follow each other.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from fitness_app.extensions import db, socketio
from fitness_app.models import Block, Comment, Follow, Kudos, User, Workout
from fitness_app.services.social import comments as comments_service
from tests.conftest import built_app, log_workout, signed_in_client
from tests.social_rows import add_social_rows


def user_id(app: Flask, username: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.username == username))


def newest_workout(app: Flask, username: str) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.max(Workout.id)).where(Workout.user_id == user_id(app, username))
        )


def add_rows(app: Flask, *rows: object) -> None:
    add_social_rows(app, *rows)


def connect(app: Flask, client: FlaskClient):
    socket = socketio.test_client(app, flask_test_client=client)
    assert socket.is_connected()
    socket.get_received()
    return socket


def notifications(socket) -> list[dict]:
    return [e["args"][0] for e in socket.get_received() if e["name"] == "notification"]


def people(app: Flask, *names: str) -> dict[str, FlaskClient]:
    clients = {name: signed_in_client(app, name) for name in names}
    for client in clients.values():
        client.get("/workouts/")  # reads the welcome message
    return clients


def public_workout(app: Flask, client: FlaskClient, owner: str, **fields: object) -> int:
    assert log_workout(client, visibility="public", **fields).status_code == 302
    client.get("/workouts/")
    return newest_workout(app, owner)


def counters(app: Flask, workout_id: int) -> tuple[int, int]:
    with app.app_context():
        row = db.session.execute(
            sa.select(Workout.kudos_count, Workout.comments_count).where(Workout.id == workout_id)
        ).one()
        return tuple(row)


def test_kudos_notify_the_owner_once_and_show_on_the_page(app):
    c = people(app, "owner", "bob")
    workout = public_workout(app, c["owner"], "owner", title="Tempo run")
    owner_socket, bob_socket = connect(app, c["owner"]), connect(app, c["bob"])
    response = c["bob"].post(f"/workouts/{workout}/kudos")
    assert response.status_code == 303
    assert response.location.endswith(f"/workouts/{workout}#kudos")
    [note] = notifications(owner_socket)
    assert note["kind"] == "kudos" and note["title"] == "Kudos"
    assert note["data"] == {"username": "bob", "workout_id": workout}
    assert note["url"] == f"/workouts/{workout}"
    assert note["message"] == "bob gave kudos to “Tempo run”"
    assert notifications(bob_socket) == []
    assert "Kudos given." in c["bob"].get(f"/workouts/{workout}").text

    again = c["bob"].post(f"/workouts/{workout}/kudos")
    assert again.status_code == 303
    assert notifications(owner_socket) == []
    assert counters(app, workout) == (1, 0)
    page = c["owner"].get(f"/workouts/{workout}").text
    assert '<span class="pill" id="kudos-count">1</span>' in page
    assert '<a class="user-link" href="/u/bob">bob</a>' in page
    assert "/kudos" not in page  # no Kudos button on one's own workout
    theirs = c["bob"].get(f"/workouts/{workout}").text
    assert "You gave kudos." in theirs and f'action="/workouts/{workout}/kudos"' not in theirs


def test_no_kudos_on_ones_own_workout(app):
    c = people(app, "owner")
    workout = public_workout(app, c["owner"], "owner")
    assert c["owner"].post(f"/workouts/{workout}/kudos").status_code == 400
    assert counters(app, workout) == (0, 0)


@pytest.mark.parametrize("relation", ["blocked", "blocker", "stranger_on_private", "missing"])
def test_who_may_not_see_the_workout_gets_404_for_kudos_and_comments(app, relation):
    c = people(app, "owner", "eve")
    level = "private" if relation == "stranger_on_private" else "public"
    assert log_workout(c["owner"], visibility=level).status_code == 302
    workout = newest_workout(app, "owner")
    owner, eve = user_id(app, "owner"), user_id(app, "eve")
    if relation == "blocked":
        add_rows(app, Block(blocker_id=owner, blocked_id=eve))
    elif relation == "blocker":
        add_rows(app, Block(blocker_id=eve, blocked_id=owner))
    elif relation == "missing":
        workout = 999999
    owner_socket = connect(app, c["owner"])
    assert c["eve"].post(f"/workouts/{workout}/kudos").status_code == 404
    assert c["eve"].post(f"/workouts/{workout}/comments", data={"body": "Hi"}).status_code == 404
    assert c["eve"].post(f"/workouts/{workout}/comments", data={"body": ""}).status_code == 404
    assert notifications(owner_socket) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Kudos)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0


def test_a_comment_reaches_the_owner_and_earlier_commenters_never_its_author(app):
    c = people(app, "owner", "bob", "carl", "dave", "eve")
    assert log_workout(c["owner"], title="Long run", visibility="followers").status_code == 302
    workout = newest_workout(app, "owner")
    ids = {name: user_id(app, name) for name in c}
    add_rows(app, *(Follow(follower_id=ids[name], followee_id=ids["owner"], accepted=True)
                    for name in ("bob", "carl", "dave", "eve")))
    sockets = {name: connect(app, client) for name, client in c.items()}

    assert c["bob"].post(f"/workouts/{workout}/comments",
                         data={"body": "  Nice pace!  "}).status_code == 303
    [note] = notifications(sockets["owner"])
    assert note["kind"] == "comment" and note["url"] == f"/workouts/{workout}"
    with app.app_context():
        comment = db.session.scalar(sa.select(Comment.id).where(Comment.workout_id == workout))
    assert note["data"] == {"username": "bob", "workout_id": workout, "comment_id": comment}
    assert note["message"] == "bob on “Long run”: Nice pace!"
    assert all(notifications(sockets[n]) == [] for n in ("bob", "carl", "dave", "eve"))

    c["dave"].post(f"/workouts/{workout}/comments", data={"body": "Great"})
    c["bob"].post(f"/workouts/{workout}/comments", data={"body": "Thanks for the route"})
    for name in ("owner", "bob", "carl", "dave", "eve"):
        sockets[name].get_received()
    # dave stops following: the workout is hidden from him, so he hears nothing more.
    with app.app_context():
        db.session.execute(sa.delete(Follow).where(Follow.follower_id == ids["dave"]))
        db.session.commit()
    c["carl"].post(f"/workouts/{workout}/comments", data={"body": "See you Sunday"})
    assert [n["kind"] for n in notifications(sockets["owner"])] == ["comment"]
    [to_bob] = notifications(sockets["bob"])  # once, though bob commented twice
    assert to_bob["message"] == "carl on “Long run”: See you Sunday"
    assert notifications(sockets["carl"]) == []
    assert notifications(sockets["dave"]) == []
    assert notifications(sockets["eve"]) == []
    assert counters(app, workout) == (0, 4)

    # The owner's own comment notifies the commenters, not the owner.
    c["owner"].post(f"/workouts/{workout}/comments", data={"body": "Thank you all"})
    assert notifications(sockets["owner"]) == []
    assert len(notifications(sockets["bob"])) == len(notifications(sockets["carl"])) == 1


def test_many_earlier_commenters_are_notified_in_batches(app, monkeypatch):
    monkeypatch.setattr(comments_service, "BATCH", 2)
    names = ["owner", "bob", "carl", "dave", "eve", "finn"]
    c = people(app, *names)
    workout = public_workout(app, c["owner"], "owner")
    for name in names[1:]:
        c[name].post(f"/workouts/{workout}/comments", data={"body": f"From {name}"})
    sockets = {name: connect(app, c[name]) for name in names}
    c["bob"].post(f"/workouts/{workout}/comments", data={"body": "Last word"})
    for name in ("owner", "carl", "dave", "eve", "finn"):
        assert [n["message"] for n in notifications(sockets[name])] == [
            "bob on “Tempo run”: Last word"], name
    assert notifications(sockets["bob"]) == []


def test_comment_text_is_shown_as_text_oldest_first(app):
    c = people(app, "owner", "bob")
    workout = public_workout(app, c["owner"], "owner")
    c["bob"].post(f"/workouts/{workout}/comments", data={"body": "First\nline two"})
    c["owner"].post(f"/workouts/{workout}/comments",
                    data={"body": '<script>alert("x")</script>'})
    page = c["bob"].get(f"/workouts/{workout}").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert page.index("First\nline two") < page.index("&lt;script&gt;")
    assert '<a class="user-link" href="/u/owner">owner</a>' in page
    assert '<label for="body">Comment</label>' in page


@pytest.mark.parametrize("body, message", [
    ("", "Write a comment."),
    ("   \n ", "Write a comment."),
    ("x" * 1001, "Keep it to 1000 characters."),
])
def test_a_comment_out_of_bounds_comes_back_with_a_message(app, body, message):
    c = people(app, "owner", "bob")
    workout = public_workout(app, c["owner"], "owner", title="Hill repeats")
    response = c["bob"].post(f"/workouts/{workout}/comments", data={"body": body})
    assert response.status_code == 400
    assert message in response.text and "Hill repeats" in response.text
    assert counters(app, workout) == (0, 0)
    exactly = c["bob"].post(f"/workouts/{workout}/comments", data={"body": "y" * 1000})
    assert exactly.status_code == 303


def test_comments_are_paginated_oldest_first(database):
    with built_app(database, COMMENTS_PER_PAGE=2) as app:
        c = people(app, "owner")
        workout = public_workout(app, c["owner"], "owner")
        for word in ("alpha", "bravo", "charlie"):
            c["owner"].post(f"/workouts/{workout}/comments", data={"body": word})
        first = c["owner"].get(f"/workouts/{workout}").text
        assert "alpha" in first and "bravo" in first and "charlie" not in first
        link = re.search(r'href="(/workouts/\d+\?comments_after=\d+#comments)"', first).group(1)
        second = c["owner"].get(link.replace("#comments", "")).text
        assert "charlie" in second and "alpha" not in second and "Newer comments" not in second
        assert c["owner"].get(f"/workouts/{workout}?comments_after=x").status_code == 200


def test_delete_by_author_owner_or_admin_and_404_for_anyone_else(app):
    c = people(app, "owner", "bob", "carl")
    admin = signed_in_client(app, "root", admin=True)
    workout = public_workout(app, c["owner"], "owner")
    for word in ("one", "two", "three"):
        c["bob"].post(f"/workouts/{workout}/comments", data={"body": word})
    with app.app_context():
        ids = db.session.scalars(sa.select(Comment.id).order_by(Comment.id)).all()
    page = c["carl"].get(f"/workouts/{workout}").text
    assert "/delete" not in page and "Report" in page
    # Each button names the comment it acts on: beside the workout's own Delete,
    # a screen reader's list of buttons must tell them apart.
    assert page.count('<summary>Report<span class="visually-hidden"> comment by bob</span>') == 3
    own = c["bob"].get(f"/workouts/{workout}").text
    assert own.count('>Delete<span class="visually-hidden"> comment by bob</span></button>') == 3
    assert c["carl"].post(f"/comments/{ids[0]}/delete").status_code == 404
    assert c["carl"].post("/comments/999999/delete").status_code == 404
    assert c["bob"].post(f"/comments/{ids[0]}/delete").status_code == 303
    assert c["owner"].post(f"/comments/{ids[1]}/delete").status_code == 303
    assert admin.post(f"/comments/{ids[2]}/delete").status_code == 303
    assert c["bob"].post(f"/comments/{ids[2]}/delete").status_code == 404
    assert counters(app, workout) == (0, 0)
    assert "No comments yet." in c["owner"].get(f"/workouts/{workout}").text


def test_people_who_blocked_each_other_neither_see_nor_hear_of_each_other_elsewhere(app):
    """On a third person's workout: no comment, no name, no notification between them."""
    c = people(app, "owner", "carl", "dave")
    workout = public_workout(app, c["owner"], "owner")
    c["carl"].post(f"/workouts/{workout}/kudos")
    c["carl"].post(f"/workouts/{workout}/comments", data={"body": "carl was here"})
    add_rows(app, Block(blocker_id=user_id(app, "carl"), blocked_id=user_id(app, "dave")))
    carl_socket = connect(app, c["carl"])
    assert c["dave"].post(f"/workouts/{workout}/comments",
                          data={"body": "dave was here"}).status_code == 303
    assert notifications(carl_socket) == []
    dave_sees = c["dave"].get(f"/workouts/{workout}").text
    assert "dave was here" in dave_sees
    assert "carl was here" not in dave_sees and "/u/carl" not in dave_sees
    carl_sees = c["carl"].get(f"/workouts/{workout}").text
    assert "carl was here" in carl_sees and "dave was here" not in carl_sees
    owner_sees = c["owner"].get(f"/workouts/{workout}").text
    assert "carl was here" in owner_sees and "dave was here" in owner_sees
    assert '<a class="user-link" href="/u/carl">carl</a>' in owner_sees
