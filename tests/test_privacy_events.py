"""Who sees what beyond the routes: socket events, notifications about comments, and the
comments and kudos of people in a block on a third person's workout. The cast is
tests/privacy.py's, as in tests/test_privacy_matrix.py."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from deploy.processes import wait_until
from fitness_app.extensions import socketio
from tests.databases import DATABASE_PARAMS
from tests.privacy import (
    LEVELS,
    MISSING_ID,
    NON_OWNERS,
    SEES,
    SIGNED_IN,
    World,
    matrix_world,
)
from tests.privacy_answers import Problems, allowed, changed_tables, fingerprint, like_missing

_WORKOUT_IDS = re.compile(r'"workout_id": (\d+)|/workouts/(\d+)')


@pytest.fixture(scope="module", params=DATABASE_PARAMS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[World]:
    """One app, database and cast for the module, on SQLite and on PostgreSQL."""
    with matrix_world(request.param, tmp_path_factory) as world:
        yield world


def workouts_named(payload: Any) -> set[int]:
    """Every workout an event's payload names, by `workout_id` or by its page's path."""
    return {int(a or b) for a, b in _WORKOUT_IDS.findall(json.dumps(payload))}


def test_socket_events_reach_no_one_the_rule_keeps_out(world: World) -> None:
    """The owner completes a planned workout, and logs a completed one, of each visibility
    while everyone's page is open; each page first replays its stored notifications."""
    sockets = {viewer: socketio.test_client(world.app, flask_test_client=world.clients[viewer],
                                            auth={"last_id": 0})
               for viewer in SIGNED_IN}
    heard: dict[str, list[dict[str, Any]]] = {viewer: [] for viewer in SIGNED_IN}

    def listen() -> None:
        for viewer, socket in sockets.items():
            heard[viewer] += socket.get_received()

    try:
        completed = set()
        for level in LEVELS:
            workout = world.spare_workout(level, completed=False, title=f"Mx {level} live ride")
            completed.add(workout)
            response = world.request("owner", "POST", f"/workouts/{workout}/complete")
            assert response.status_code == 302
            completed.add(world.log_completed(level, f"Mx {level} logged live swim"))
        world.clients["owner"].get("/workouts/")

        def owner_heard_all() -> bool:
            listen()
            return completed <= set().union(
                *(workouts_named(e["args"]) for e in heard["owner"]))

        wait_until(owner_heard_all, message="the owner's completion notifications")

        def follower_heard_feed() -> bool:
            listen()
            items = {e["args"][0]["workout_id"] for e in heard["follower"]
                     if e["name"] == "feed_item"}
            return items >= {w for w in completed if world.levels[w] != "private"}

        wait_until(follower_heard_feed, message="the follower's feed_item events")
    finally:
        for socket in sockets.values():
            socket.disconnect()
    problems = []
    for viewer in NON_OWNERS:
        for event in heard[viewer]:
            if unseen := world.unseen_workouts(viewer, workouts_named(event["args"])):
                problems.append(f"{viewer} heard {event['name']} about workouts {unseen}")
            if leaks := world.leaked(viewer, json.dumps(event["args"])):
                problems.append(f"{viewer} heard {event['name']} showing {leaks}")
    assert not problems, "\n".join(problems)


def test_blocking_hides_comments_both_ways_on_anyones_workout(world: World) -> None:
    """The owner's comment and kudos on a third person's public workout: hidden from those
    in a block with the owner, either way."""
    workout = world.host_workout()
    body = "Mx owner word on the host run"
    world.secrets[body] = "public"
    comment = world.comment("owner", workout, body)
    world.kudos("owner", workout)
    problems = []
    for viewer in ("blocked", "blocker"):
        problems += like_missing(world, viewer, "POST", f"/comments/{comment}/report",
                                 f"/comments/{MISSING_ID}/report")
    for viewer in SIGNED_IN:
        found, page = allowed(world, viewer, "GET", f"/workouts/{workout}", None, (200,))
        named = 'href="/u/owner"' in page.get_data(as_text=True)
        if named != bool(SEES[viewer]):
            found.append(f"{viewer} GET /workouts/{workout}: "
                         f"{'names' if named else 'does not name'} the owner")
        problems += found
    assert not problems, "\n".join(problems)


def _inbox_problems(world: World) -> Problems:
    """What each viewer's inbox, notifications API and export show that they may not see."""
    problems: Problems = []
    for viewer in NON_OWNERS:
        for path in ("/api/notifications?after=0", "/notifications/", "/settings/export"):
            problems += allowed(world, viewer, "GET", path, None, (200,))[0]
    return problems


@pytest.mark.parametrize("level", LEVELS)
def test_a_comment_notifies_earlier_commenters_only_while_they_may_see(world: World,
                                                                        level: str) -> None:
    """Everyone commented on a public workout; it became `level`; then the owner comments."""
    workout = world.spare_workout("public")
    for viewer in NON_OWNERS:
        world.comment(viewer, workout)
    world.set_visibility(workout, level)
    body = f"Mx {level} late word"
    world.secrets[body] = level
    assert world.request("owner", "POST", f"/workouts/{workout}/comments",
                         {"body": body}).status_code == 303
    problems = _inbox_problems(world)
    for viewer in NON_OWNERS:
        told = body in world.request(viewer, "GET", "/api/notifications?after=0").text
        if told != (level in SEES[viewer]):
            problems.append(f"{viewer} {'was' if told else 'was not'} told of a comment "
                            f"on a {level} workout")
    assert not problems, "\n".join(problems)


def test_a_comment_notifies_no_earlier_commenter_in_a_block_with_its_author(world: World
                                                                             ) -> None:
    workout = world.host_workout()
    for viewer in NON_OWNERS:
        world.comment(viewer, workout)
    body = "Mx owner late word on the host run"
    world.secrets[body] = "public"
    assert world.request("owner", "POST", f"/workouts/{workout}/comments",
                         {"body": body}).status_code == 303
    problems = _inbox_problems(world)
    assert not problems, "\n".join(problems)


def test_mark_read_over_the_socket_is_a_missing_id_for_another_users_notification(
        world: World) -> None:
    """`mark_read` answers another user's notification as one that does not exist."""
    mine = world.owner_notification()
    problems: Problems = []
    for viewer in NON_OWNERS:
        socket = socketio.test_client(world.app, flask_test_client=world.clients[viewer])
        try:
            before = fingerprint(world.app)
            answers = [socket.emit("mark_read", payload, callback=True)
                       for payload in ({"id": mine}, {"ids": [mine]})]
            missing = [socket.emit("mark_read", payload, callback=True)
                       for payload in ({"id": MISSING_ID}, {"ids": [MISSING_ID]})]
            if answers != missing or any(a.get("ok") for a in answers):
                problems.append(f"{viewer} mark_read {mine}: {answers}, a missing one {missing}")
            if changed := changed_tables(before, fingerprint(world.app)):
                problems.append(f"{viewer} mark_read {mine}: changed {changed}")
        finally:
            socket.disconnect()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("change", ["made private", "reader blocked"])
def test_a_stored_notification_stops_quoting_what_its_reader_may_no_longer_see(
        world: World, change: str) -> None:
    """A comment notification told a follower of the owner's comment; then the workout went
    out of their sight. Inbox, API, replay and export no longer show its title or words."""
    if change == "made private":
        reader = "follower"
    else:
        reader, client = world.spare_user()
        world.clients[reader] = client
        world.follow(reader, "owner")
    workout = world.spare_workout("followers")
    world.comment(reader, workout)
    quote = f"Mx words before it was {change}"
    world.secrets[quote] = "followers"
    assert world.request("owner", "POST", f"/workouts/{workout}/comments",
                         {"body": quote}).status_code == 303
    assert quote in world.request(reader, "GET", "/api/notifications?after=0").text
    if change == "made private":
        world.set_visibility(workout, "private")
        world.secrets[quote] = "private"
    else:
        world.block("owner", reader)
    problems: Problems = []
    for path in ("/api/notifications?after=0", "/notifications/", "/settings/export"):
        problems += allowed(world, reader, "GET", path, None, (200,))[0]
    socket = socketio.test_client(world.app, flask_test_client=world.clients[reader],
                                  auth={"last_id": 0})
    try:
        if leaks := world.leaked(reader, json.dumps(socket.get_received())):
            problems.append(f"{reader}'s replay shows {leaks}")
    finally:
        socket.disconnect()
    assert not problems, "\n".join(problems)
