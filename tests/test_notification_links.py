"""A notification about a deleted workout says so and leads to the workouts list, never a 404."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from fitness_app.extensions import db, socketio
from fitness_app.models import User, Workout
from fitness_app.services.notifications import replay, store
from fitness_app.services.notifications.delivery import delivery
from fitness_app.services.notifications.links import workout_about
from fitness_app.services.push import fanout
from fitness_app.services.social import feed_items
from tests.conftest import log_workout, signed_in_client

ROW = re.compile(
    r'<li class="item inbox-item[^"]*" data-notification-id="(\d+)">.*?'
    r'<a class="item-link" href="([^"]*)">(.*?)</a>',
    re.S,
)


def inbox_rows(client: FlaskClient) -> dict[str, tuple[str, str]]:
    """{notification message: (href, the link's text)} as the inbox page shows them."""
    page = client.get("/notifications/").get_data(as_text=True)
    rows = {}
    for _, href, inner in ROW.findall(page):
        texts = re.findall(r"<p[^>]*>(.*?)</p>", inner)
        rows[texts[1]] = (href, " ".join(texts))
    return rows


def workout_ids(app: Flask) -> dict[str, int]:
    with app.app_context():
        return dict(db.session.execute(sa.select(Workout.title, Workout.id)).all())


def completion_urls(payloads: list[dict]) -> dict[int, str]:
    return {p["data"]["workout_id"]: p["url"] for p in payloads
            if p["kind"] == "workout_completed"}


@pytest.fixture
def two_workouts_one_deleted(app: Flask, client: FlaskClient, signed_in) -> dict[str, int]:
    log_workout(client, title="Kept run")
    log_workout(client, title="Deleted run")
    ids = workout_ids(app)
    assert client.post(f"/workouts/{ids['Deleted run']}/delete").status_code == 302
    return ids


def test_the_inbox_says_the_workout_was_deleted_and_links_to_the_list(
    client, two_workouts_one_deleted
):
    ids = two_workouts_one_deleted
    rows = {href: text for href, text in inbox_rows(client).values()}
    gone = next(text for text in rows.values() if "Deleted run" in text)
    kept = next(text for text in rows.values() if "Kept run" in text)
    assert "This workout was deleted." in gone
    assert "deleted" not in kept
    assert set(rows) == {f"/workouts/{ids['Kept run']}", "/workouts/"}
    assert rows["/workouts/"] == gone
    for href in rows:
        assert client.get(href).status_code == 200
    # Where the row used to lead.
    assert client.get(f"/workouts/{ids['Deleted run']}/edit").status_code == 404


def test_the_api_and_the_replay_on_connect_lead_to_the_list(
    app, client, two_workouts_one_deleted
):
    ids = two_workouts_one_deleted
    expected = {ids["Kept run"]: f"/workouts/{ids['Kept run']}",
                ids["Deleted run"]: "/workouts/"}
    api = client.get("/api/notifications?after=0").json["notifications"]
    assert completion_urls(api) == expected

    socket = socketio.test_client(app, flask_test_client=client, auth={"last_id": 0})
    replayed = [e["args"][0] for e in socket.get_received() if e["name"] == "notification"]
    assert completion_urls(replayed) == expected
    for url in expected.values():
        assert client.get(url).status_code == 200
    socket.disconnect()


def test_after_a_block_neither_inbox_leads_to_a_404_nor_quotes_the_other(app):
    """Bob commented on Ann's workout and she replied; then she blocks him. To Bob her
    workout is a 404 as if it did not exist, and so it is in his inbox, his API and his
    replay; Ann no longer sees Bob's comment on her page, nor quoted in her inbox."""
    ann, bob = signed_in_client(app, "ann"), signed_in_client(app, "bob")
    bob.post("/u/ann/follow")
    ann.post("/followers/bob/accept")
    log_workout(ann, title="Hill reps", visibility="followers")
    workout = workout_ids(app)["Hill reps"]
    bob.post(f"/workouts/{workout}/kudos")
    bob.post(f"/workouts/{workout}/comments", data={"body": "Strong finish"})
    ann.post(f"/workouts/{workout}/comments", data={"body": "Thanks bob"})
    assert inbox_rows(bob)["ann on “Hill reps”: Thanks bob"][0] == f"/workouts/{workout}"
    assert ann.post("/u/bob/block").status_code == 302

    rows = [href for href, _ in inbox_rows(bob).values()]
    assert f"/workouts/{workout}" not in rows and "/workouts/" in rows
    page = bob.get("/notifications/").get_data(as_text=True)
    assert "Thanks bob" not in page and "This workout was deleted." in page
    api = bob.get("/api/notifications?after=0").json["notifications"]
    [reply] = [n for n in api if n["kind"] == "comment"]
    assert (reply["url"], reply["message"]) == ("/workouts/", "This comment was deleted.")
    socket = socketio.test_client(app, flask_test_client=bob, auth={"last_id": 0})
    replayed = [e["args"][0] for e in socket.get_received() if e["name"] == "notification"]
    socket.disconnect()
    assert all(n["url"] != f"/workouts/{workout}" for n in replayed)
    assert not any("Thanks bob" in n["message"] for n in replayed)

    # Ann's own workout still opens; Bob's words are gone from her inbox as from her page.
    mine = ann.get("/notifications/").get_data(as_text=True)
    assert "Strong finish" not in mine and "This comment was deleted." in mine
    assert "Strong finish" not in ann.get(f"/workouts/{workout}").get_data(as_text=True)
    assert f'href="/workouts/{workout}"' in mine

    # Lifting the block brings back what the rule allows again (the follow stays removed).
    assert ann.post("/u/bob/unblock").status_code == 302
    assert "Strong finish" in ann.get("/notifications/").get_data(as_text=True)


def test_the_resend_after_a_pubsub_gap_leads_to_the_list(app, client, signed_in):
    log_workout(client, title="Deleted run")
    socket = socketio.test_client(app, flask_test_client=client, auth={"last_id": 0})
    since = datetime.now(UTC)
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id))
        workout_id = db.session.scalar(sa.select(Workout.id))
        with delivery():
            store.notify(user_id, "workout_completed", "Done", "Kudos later",
                         {"workout_id": workout_id})
    client.post(f"/workouts/{workout_id}/delete")
    socket.get_received()
    replay.resend_since(app, since)
    resent = [e["args"][0] for e in socket.get_received() if e["name"] == "notification"]
    assert [(n["message"], n["url"]) for n in resent] == [("Kudos later", "/workouts/")]
    socket.disconnect()


def test_an_inbox_page_looks_its_workouts_up_in_one_query(app, client, signed_in):
    """As many statements for a page of twelve workout rows as for one."""

    def statements_for_inbox() -> int:
        seen: list[str] = []

        def count(conn, cursor, statement, *args) -> None:
            seen.append(statement)

        with app.app_context():
            engine = db.engine
            # The listener hears the whole engine: let the Web Push dispatcher
            # finish reading the devices of the workouts just logged first.
            assert fanout.current().wait_idle(10)
            # And the feed_item fan-out of those workouts, which reads them too.
            assert feed_items.wait_idle(10)
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get("/notifications/").status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        assert sum("FROM workouts" in s for s in seen) == 1
        return len(seen)

    log_workout(client, title="Only")
    one = statements_for_inbox()
    for n in range(11):
        log_workout(client, title=f"Run {n}")
    ids = workout_ids(app)
    client.post(f"/workouts/{ids['Run 3']}/delete")
    assert statements_for_inbox() == one
    assert sum("This workout was deleted." in text
               for _, text in inbox_rows(client).values()) == 1


@pytest.mark.parametrize(
    ("data", "page", "expected"),
    [
        ({"workout_id": 7}, "/workouts/7", 7),
        ({"workout_id": 7}, "/goals/", 7),
        ({}, "/workouts/8", 8),
        ({}, "/workouts/8/edit", 8),
        ({"workout_id": True}, "/workouts/", None),
        ({"workout_id": "7"}, "/workouts/", None),
        ({}, "/workouts/", None),
        ({}, "/workouts/new", None),
        ({}, "/workouts/imports/3", None),
        ({}, "/goals/", None),
    ],
)
def test_which_workout_a_notification_is_about(data, page, expected):
    """Its data's workout_id, or else the id in its page's path (a workout's own page)."""
    assert workout_about(data, page) == expected
