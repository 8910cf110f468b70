"""Following with approval, blocking and profiles, as two or three people use them.

Through the Flask test client (the forms' POSTs) and Flask-SocketIO's test
client (what reaches the other person's open page), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from fitness_app import create_app
from fitness_app.extensions import db, socketio
from fitness_app.models import Follow, Notification, User, Workout
from fitness_app.services.social import profiles
from tests.conftest import built_app, log_workout, signed_in_client
from tests.test_visibility import without_tokens

#: The head before the follow counters (migration f1c7a9d3b5e2).
COUNTERS_BEFORE = "e8b4c2d6f1a7"


def counts(app: Flask, username: str) -> tuple[int, int, int]:
    """(followers, following, waiting requests) as stored on the user."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        return user.followers_count, user.following_count, user.follow_requests_count


def kinds(app: Flask, username: str) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            sa.select(Notification.kind).join(User, User.id == Notification.user_id)
            .where(User.username == username).order_by(Notification.id)
        ))


def received(socket, name: str) -> list[dict]:
    return [event["args"][0] for event in socket.get_received() if event["name"] == name]


@pytest.fixture
def ann(app: Flask) -> FlaskClient:
    return signed_in_client(app, "ann")


@pytest.fixture
def bob(app: Flask) -> FlaskClient:
    return signed_in_client(app, "bob")


def test_a_request_reaches_the_followee_live_and_accepting_tells_the_asker(app, ann, bob):
    bob_socket = socketio.test_client(app, flask_test_client=bob)
    ann_socket = socketio.test_client(app, flask_test_client=ann)
    bob_socket.get_received()
    ann_socket.get_received()

    response = ann.post("/u/bob/follow")
    assert response.status_code == 302
    [note] = received(bob_socket, "notification")
    assert note["kind"] == "follow_request"
    assert note["url"] == "/followers/requests"
    assert note["data"] == {"username": "ann"}
    assert note["message"] == "ann asks to follow you."
    assert counts(app, "bob") == (0, 0, 1)
    assert "Requested" in ann.get("/u/bob").text

    page = bob.get("/followers/requests").text
    assert 'href="/u/ann"' in page
    assert 'action="/followers/ann/accept"' in page and 'action="/followers/ann/decline"' in page
    assert re.search(r'Requests\s*<span class="badge follow-requests-count">1</span>', page)

    assert bob.post("/followers/ann/accept").status_code == 302
    [accepted] = received(ann_socket, "notification")
    assert accepted["kind"] == "follow_accepted"
    assert accepted["url"] == "/u/bob"
    assert accepted["data"] == {"username": "bob"}
    assert counts(app, "bob") == (1, 0, 0)
    assert counts(app, "ann") == (0, 1, 0)
    assert "No one is waiting" in bob.get("/followers/requests").text
    profile = ann.get("/u/bob").text
    assert "1 follower" in profile and "Unfollow" in profile
    assert bob.post("/followers/ann/accept").status_code == 404  # nothing left to accept


def test_asking_twice_changes_nothing_and_notifies_once(app, ann, bob):
    assert ann.post("/u/bob/follow").status_code == 302
    assert ann.post("/u/bob/follow").status_code == 302
    assert kinds(app, "bob") == ["follow_request"]
    assert counts(app, "bob") == (0, 0, 1)
    bob.post("/followers/ann/accept")
    assert ann.post("/u/bob/follow").status_code == 302  # already following
    assert kinds(app, "bob") == ["follow_request"]
    assert counts(app, "bob") == (1, 0, 0)


def test_declining_removes_the_request_and_tells_nobody(app, ann, bob):
    ann.post("/u/bob/follow")
    assert bob.post("/followers/ann/decline").status_code == 302
    assert counts(app, "bob") == (0, 0, 0)
    assert kinds(app, "ann") == []
    assert "Follow" in ann.get("/u/bob").text and "Requested" not in ann.get("/u/bob").text
    assert bob.post("/followers/ann/decline").status_code == 404


def test_withdrawing_and_unfollowing_move_the_counters_back(app, ann, bob):
    ann.post("/u/bob/follow")
    assert ann.post("/u/bob/unfollow").status_code == 302  # withdrawn
    assert counts(app, "bob") == (0, 0, 0)
    ann.post("/u/bob/follow")
    bob.post("/followers/ann/accept")
    assert ann.post("/u/bob/unfollow").status_code == 302
    assert counts(app, "bob") == (0, 0, 0) and counts(app, "ann") == (0, 0, 0)
    assert ann.post("/u/bob/unfollow").status_code == 302  # again: nothing to do


def test_following_oneself_is_a_400_and_unknown_people_are_404(app, ann):
    refused = ann.post("/u/ann/follow")
    assert refused.status_code == 400 and "You cannot follow" in refused.text
    assert ann.post("/u/ann/block").status_code == 400
    for path in ("/u/nobody", "/u/" + "x" * 300, "/u/a%00b", "/u/%C3%A9"):
        assert ann.get(path).status_code == 404
    assert ann.post("/u/nobody/follow").status_code == 404
    assert ann.post("/followers/nobody/accept").status_code == 404
    assert ann.get("/followers/requests?before=abc").status_code == 400
    assert counts(app, "ann") == (0, 0, 0)


def test_signed_out_visitors_are_sent_to_sign_in(app, ann):
    anonymous = app.test_client()
    for path in ("/u/ann", "/u/nobody", "/followers/requests"):
        response = anonymous.get(path)
        assert response.status_code == 302 and "/auth/login" in response.location
    assert "/auth/login" in anonymous.post("/u/ann/follow").location


def test_a_block_removes_follows_both_ways_and_hides_everything_both_ways(app, ann, bob):
    ann.post("/u/bob/follow")
    bob.post("/followers/ann/accept")
    bob.post("/u/ann/follow")
    ann.post("/followers/bob/accept")
    assert counts(app, "ann") == (1, 1, 0) == counts(app, "bob")
    log_workout(bob, title="Bob public run", visibility="public")
    log_workout(ann, title="Ann public run", visibility="public")
    with app.app_context():
        ids = dict(db.session.execute(sa.select(Workout.title, Workout.id)).all())

    assert ann.post("/u/bob/block").status_code == 302
    assert counts(app, "ann") == (0, 0, 0) == counts(app, "bob")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Follow)) == 0

    # The blocked one: the blocker's profile and workouts are as if absent.
    bob.get("/workouts/")  # reads the messages waiting, so the two pages compare equal
    blocked_view = bob.get("/u/ann")
    assert blocked_view.status_code == 404
    assert without_tokens(blocked_view.text) == without_tokens(bob.get("/u/nobody").text)
    assert bob.get(f"/workouts/{ids['Ann public run']}").status_code == 404
    assert bob.post("/u/ann/follow").status_code == 404
    assert bob.post("/u/ann/block").status_code == 404
    assert bob.post("/u/ann/unblock").status_code == 404

    # The blocker: the profile with an Unblock button, and none of the workouts.
    page = ann.get("/u/bob").text
    assert 'action="/u/bob/unblock"' in page
    assert "Bob public run" not in page and 'action="/u/bob/follow"' not in page
    assert ann.get(f"/workouts/{ids['Bob public run']}").status_code == 404
    assert ann.post("/u/bob/follow").status_code == 404
    assert kinds(app, "bob") == ["follow_request", "follow_accepted", "workout_completed"]

    assert ann.post("/u/bob/unblock").status_code == 302
    assert "Bob public run" in ann.get("/u/bob").text
    assert bob.get("/u/ann").status_code == 200
    assert 'action="/u/bob/follow"' in ann.get("/u/bob").text  # follows stay removed


def test_the_profile_lists_what_the_viewer_may_see_newest_first_20_a_page(app, ann, bob):
    for level in ("private", "followers", "public"):
        log_workout(bob, title=f"Only {level}", visibility=level, performed_on="2026-01-01")
    log_workout(bob, title="Planned public", visibility="public", completed=None)
    stranger = ann.get("/u/bob").text
    assert "Only public" in stranger
    assert "Only followers" not in stranger and "Only private" not in stranger
    assert "Planned public" not in stranger
    ann.post("/u/bob/follow")
    bob.post("/followers/ann/accept")
    follower = ann.get("/u/bob").text
    with app.app_context():
        shown = db.session.scalar(sa.select(Workout.id).where(Workout.title == "Only followers"))
    assert 'href="/u/bob"' in ann.get(f"/workouts/{shown}").text  # the owner's name leads here
    assert "Only public" in follower and "Only followers" in follower
    assert "Only private" not in follower
    own = bob.get("/u/bob").text
    assert all(f"Only {level}" in own for level in ("private", "followers", "public"))

    for day in range(1, 26):
        log_workout(bob, title=f"Day {day:02d}", visibility="public",
                    performed_on=f"2026-02-{day:02d}")
    first = ann.get("/u/bob").text
    titles = re.findall(r">(Day \d\d|Only \w+)</a>", first)
    assert titles == [f"Day {d:02d}" for d in range(25, 5, -1)]
    older = re.search(r'href="(/u/bob\?before=\d+)"', first).group(1)
    second = ann.get(older).text
    rest = re.findall(r">(Day \d\d|Only \w+)</a>", second)
    assert rest == [f"Day {d:02d}" for d in range(5, 0, -1)] + ["Only public",
                                                                 "Only followers"]
    assert "before=" not in second
    with app.app_context():
        private = db.session.scalar(sa.select(Workout.id).where(Workout.title == "Only private"))
    # A hidden workout's id places no cursor: it says nothing about it.
    assert "Only" not in ann.get(f"/u/bob?before={private}").text
    assert ann.get("/u/bob?before=x").status_code == 400


def test_the_requests_page_is_keyset_paginated(app, bob):
    for number in range(22):
        signed_in_client(app, f"asker{number:02d}").post("/u/bob/follow")
    assert counts(app, "bob") == (0, 0, 22)
    first = bob.get("/followers/requests").text
    names = re.findall(r'data-username="(asker\d\d)"', first)
    assert names == [f"asker{n:02d}" for n in range(21, 1, -1)]
    older = re.search(r'href="(/followers/requests\?before=\d+)"', first).group(1)
    assert re.findall(r'data-username="(asker\d\d)"', bob.get(older).text) == [
        "asker01", "asker00"]


def test_follow_requests_are_limited_per_user(database):
    with built_app(database, RATELIMIT_FOLLOW="3 per minute") as app:
        ann = signed_in_client(app, "ann")
        for name in ("bob", "cat", "dan"):
            signed_in_client(app, name)
            assert ann.post(f"/u/{name}/follow").status_code == 302
        signed_in_client(app, "eve")
        response = ann.post("/u/eve/follow")
        assert response.status_code == 429
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        assert counts(app, "eve") == (0, 0, 0)
        assert signed_in_client(app, "fay").post("/u/eve/follow").status_code == 302


def test_deleting_an_account_takes_it_out_of_the_others_counters(app, ann, bob):
    cat = signed_in_client(app, "cat")
    ann.post("/u/bob/follow")
    bob.post("/followers/ann/accept")
    bob.post("/u/ann/follow")
    ann.post("/followers/bob/accept")
    ann.post("/u/cat/follow")  # left waiting
    assert counts(app, "bob") == (1, 1, 0) and counts(app, "cat") == (0, 0, 1)
    assert ann.post("/settings/delete", data={"password": "password1"}).status_code == 302
    assert counts(app, "bob") == (0, 0, 0) and counts(app, "cat") == (0, 0, 0)
    assert "No one is waiting" in cat.get("/followers/requests").text


def test_the_export_lists_follows_both_ways(app, ann, bob):
    cat = signed_in_client(app, "cat")
    ann.post("/u/bob/follow")
    bob.post("/followers/ann/accept")
    ann.post("/u/cat/follow")
    cat.post("/u/ann/follow")
    document = json.loads(ann.get("/settings/export").data)
    following = {(f["username"], f["accepted"]) for f in document["following"]}
    followers = {(f["username"], f["accepted"]) for f in document["followers"]}
    assert following == {("bob", True), ("cat", False)}
    assert followers == {("cat", False)}
    assert document["profile"]["following_count"] == 1


def plan(app: Flask, statement: sa.Select) -> str:
    """The database's plan for `statement`; PostgreSQL's with sorts and seq scans priced out,
    so a Sort or Seq Scan left in it means no index could serve the query."""
    with app.app_context():
        sql = str(statement.compile(dialect=db.engine.dialect,
                                    compile_kwargs={"literal_binds": True}))
        if db.engine.dialect.name == "sqlite":
            return "\n".join(row[-1] for row in
                             db.session.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))
        for setting in ("enable_seqscan", "enable_sort", "enable_bitmapscan"):
            db.session.execute(sa.text(f"SET LOCAL {setting} = off"))
        found = "\n".join(row[0] for row in db.session.execute(sa.text("EXPLAIN " + sql)))
        db.session.rollback()
        return found


def test_profile_and_request_pages_read_one_index_range_each(app):
    cursor = (date(2026, 1, 2), 55)
    for statement, index in (
        (profiles.level_range(3, "followers", None, 21), "ix_workouts_shared"),
        (profiles.level_range(3, "public", cursor, 21), "ix_workouts_shared"),
        (profiles.requests_range(3, None, 21), "ix_follows_followee"),
        (profiles.requests_range(3, 40, 21), "ix_follows_followee"),
    ):
        found = plan(app, statement)
        assert index in found, found
        assert "TEMP B-TREE" not in found and "Sort" not in found, found
        assert "SCAN workouts" not in found and "Seq Scan on workouts" not in found, found


def test_the_migration_counts_follows_stored_before_it(database):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database})
    with app.app_context():
        upgrade(revision=COUNTERS_BEFORE)
        with db.engine.begin() as conn:
            meta = sa.MetaData()
            meta.reflect(conn, only=["users", "follows"])
            users, follows_table = meta.tables["users"], meta.tables["follows"]
            ids = {name: conn.execute(users.insert().returning(users.c.id), {
                "username": name, "email": f"{name}@example.com", "password_hash": "x",
                "is_admin": False, "created_at": datetime.now(UTC)}).scalar_one()
                for name in ("ann", "bob", "cat")}
            conn.execute(follows_table.insert(), [
                {"follower_id": ids[a], "followee_id": ids[b], "accepted": accepted,
                 "created_at": datetime.now(UTC)}
                for a, b, accepted in (("ann", "bob", True), ("cat", "bob", True),
                                       ("bob", "ann", False), ("cat", "ann", False))])
        upgrade()
        db.session.remove()
        assert counts(app, "ann") == (0, 1, 2)
        assert counts(app, "bob") == (2, 0, 0)
        assert counts(app, "cat") == (0, 1, 0)
        db.engine.dispose()
