"""Who sees what, on every route: each viewer × each visibility × each rule of the URL map.

CONTRACT.md, "Who sees what": a workout, comment or profile someone may not
see is a 404 to them, exactly as if it did not exist, on every route, page,
feed, JSON answer, event and export. Every rule of `app.url_map` (endpoint and
method) has one entry in ROUTES naming its class; a rule without one fails
`test_every_route_is_classified`, so a new route cannot ship unchecked.
Adding a route is one entry.

The people and the owner's data are in tests/privacy.py; the viewers are the
owner, an accepted follower, a pending requester, a stranger, someone the
owner blocked, someone who blocked the owner, an admin, and a signed-out
visitor.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import product
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from deploy.processes import wait_until
from fitness_app.extensions import socketio
from tests import services
from tests.conftest import built_app
from tests.databases import DATABASE_PARAMS, PG_SKIP_REASON, database_url
from tests.privacy import (
    LEVELS,
    MISSING_ID,
    NON_OWNERS,
    OTHERS,
    SEES,
    SIGNED_IN,
    VIEWERS,
    World,
    build_world,
    changed_tables,
    done_title,
    fingerprint,
    planned_title,
    without_tokens,
)

EDIT_FORM = {"title": "Edited", "activity": "run", "duration_minutes": "40",
             "performed_on": date.today().isoformat()}
GOAL_FORM = {"kind": "workouts", "target": "7", "period": "month"}
Problems = list[str]


def _signed_out(world: World, method: str, real: str, missing: str,
                data: dict[str, Any] | None) -> Problems:
    """A signed-out visitor is sent to sign in (or gets 401), whether the thing exists or not."""
    before = fingerprint(world.app)
    seen = world.request("anonymous", method, real, data)
    changed = changed_tables(before, fingerprint(world.app))
    gone = world.request("anonymous", method, missing, data)
    problems = []
    if seen.status_code not in (302, 401) or seen.status_code != gone.status_code:
        problems.append(f"anonymous {method} {real}: {seen.status_code}, "
                        f"a missing one {gone.status_code}")
    elif seen.status_code == 302 and not seen.location.startswith("/auth/login"):
        problems.append(f"anonymous {method} {real}: sent to {seen.location}")
    if leaks := world.leaked("anonymous", seen.get_data(as_text=True)):
        problems.append(f"anonymous {method} {real}: shows {leaks}")
    if changed:
        problems.append(f"anonymous {method} {real}: changed {changed}")
    return problems


def _like_missing(world: World, viewer: str, method: str, real: str, missing: str,
                  data: dict[str, Any] | None = None, missing_data: dict | None = None
                  ) -> Problems:
    """`viewer` gets the very answer a missing id gets (CSRF tokens aside), and changes nothing."""
    where = f"{viewer} {method} {real}"
    before = fingerprint(world.app)
    seen = world.request(viewer, method, real, data)
    changed = changed_tables(before, fingerprint(world.app))
    gone = world.request(viewer, method, missing, data if missing_data is None else missing_data)
    problems = []
    if seen.status_code != 404:
        problems.append(f"{where}: {seen.status_code}, not 404")
    elif without_tokens(seen.get_data(as_text=True)) != without_tokens(gone.get_data(as_text=True)):
        problems.append(f"{where}: its 404 differs from a missing one's")
    if leaks := world.leaked(viewer, seen.get_data(as_text=True)):
        problems.append(f"{where}: shows {leaks}")
    if changed:
        problems.append(f"{where}: changed {changed}")
    return problems


def _allowed(world: World, viewer: str, method: str, path: str, data: dict[str, Any] | None,
             ok: tuple[int, ...], sees: frozenset[str] | None = None
             ) -> tuple[Problems, TestResponse]:
    """`viewer` gets an `ok` answer showing nothing beyond what they see (`sees`: narrower)."""
    response = world.request(viewer, method, path, data)
    problems = []
    if response.status_code not in ok:
        problems.append(f"{viewer} {method} {path}: {response.status_code}, not one of {ok}")
    if leaks := world.leaked(viewer, response.get_data(as_text=True), sees):
        problems.append(f"{viewer} {method} {path}: shows {leaks}")
    return problems, response


@dataclass(frozen=True)
class ShowsWorkout:
    """Shows a workout named by id in the path: to whom the rule allows; a 404 to the rest."""

    path: str

    def check(self, world: World, method: str) -> Problems:
        problems: Problems = []
        missing = self.path.format(id=MISSING_ID)
        for level, (workout, title) in product(LEVELS, ((world.done, done_title),
                                                        (world.planned, planned_title))):
            real = self.path.format(id=workout[level])
            problems += _signed_out(world, method, real, missing, None)
            for viewer in SIGNED_IN:
                if level in SEES[viewer]:
                    found, response = _allowed(world, viewer, method, real, None, (200,))
                    page = response.get_data(as_text=True)
                    if not found and title(level) not in page:
                        found.append(f"{viewer} {method} {real}: no {title(level)!r}")
                    if not found and workout is world.done and 'class="route-map"' not in page:
                        found.append(f"{viewer} {method} {real}: no route drawn")
                    problems += found
                else:
                    problems += _like_missing(world, viewer, method, real, missing)
        return problems


@dataclass(frozen=True)
class OwnersWorkout:
    """Acts on a workout by id, for its owner only: anyone else, even one who sees it, a 404.

    `planned`: aimed at the owner's planned workouts (completing one).
    """

    path: str
    data: dict[str, str] | None = None
    planned: bool = False

    def check(self, world: World, method: str) -> Problems:
        problems: Problems = []
        missing = self.path.format(id=MISSING_ID)
        targets = world.planned if self.planned else world.done
        for level in LEVELS:
            # A change is tried on a workout of its own, so a leak spoils no other check.
            target = targets[level] if method == "GET" else world.spare_workout(
                level, completed=not self.planned)
            real = self.path.format(id=target)
            problems += _signed_out(world, method, real, missing, self.data)
            for viewer in NON_OWNERS:
                problems += _like_missing(world, viewer, method, real, missing, self.data)
            spare = self.path.format(id=world.spare_workout(level, completed=not self.planned))
            problems += _allowed(world, "owner", method, spare, self.data, (200, 302))[0]
            world.clients["owner"].get("/workouts/")  # reads the flash message
        return problems


@dataclass(frozen=True)
class ShowsProfile:
    """Shows a profile by username: a 404, as for a name nobody has, to whom the owner blocked;
    to anyone else the owner's workouts the rule lets them see (none to one who blocked
    the owner), on every page of the list.
    """

    path: str

    def check(self, world: World, method: str) -> Problems:
        real, missing = self.path.format(name="owner"), self.path.format(name="nobody")
        problems = _signed_out(world, method, real, missing, None)
        for viewer in SIGNED_IN:
            if viewer == "blocked":
                problems += _like_missing(world, viewer, method, real, missing)
                continue
            found, response = _allowed(world, viewer, method, real, None, (200,))
            text = response.get_data(as_text=True)
            found += [f"{viewer} {method} {real}: no {done_title(level)!r}"
                      for level in SEES[viewer] if done_title(level) not in text]
            for cursor in world.levels:  # a hidden workout's id as the cursor tells nothing
                found += _allowed(world, viewer, method, f"{real}?before={cursor}", None,
                                  (200,))[0]
            problems += found
        return problems


@dataclass(frozen=True)
class ActsOnProfile:
    """Acts on one's relation to the person named (follow, block…).

    `refused` get the answer of a name nobody has, and nothing changes; it is
    done, for the rest, by a new user (who first blocks the owner when
    `blocking_first`), so the matrix's relations stay as they are.
    """

    path: str
    refused: tuple[str, ...]
    blocking_first: bool = False

    def check(self, world: World, method: str) -> Problems:
        real, missing = self.path.format(name="owner"), self.path.format(name="nobody")
        problems = _signed_out(world, method, real, missing, None)
        for viewer in self.refused:
            problems += _like_missing(world, viewer, method, real, missing)
        name, client = world.spare_user()
        world.clients[name] = client
        if self.blocking_first:
            world.block(name, "owner")
        problems += _allowed(world, name, method, real, None, (302,))[0]
        return problems


@dataclass(frozen=True)
class ShowsFeed:
    """Lists the visible workouts of the people one follows: the accepted follower sees the
    owner's they may see; nobody else anything of the owner's (a pending request, a block
    either way, or no follow at all), on every page of it, whatever `?before=` names.
    """

    path: str

    def check(self, world: World, method: str) -> Problems:
        problems = _signed_out(world, method, self.path, self.path, None)
        for viewer in SIGNED_IN:
            sees = SEES[viewer] if viewer in ("owner", "follower") else frozenset()
            found, response = _allowed(world, viewer, method, self.path, None, (200,),
                                       sees=sees)
            text = response.get_data(as_text=True)
            if viewer == "follower":
                found += [f"{viewer} {method} {self.path}: no {done_title(level)!r}"
                          for level in sees if done_title(level) not in text]
            for cursor in world.levels:
                found += _allowed(world, viewer, method, f"{self.path}?before={cursor}",
                                  None, (200,), sees=sees)[0]
            problems += found
        return problems


@dataclass(frozen=True)
class OwnersRow:
    """Acts on one of the user's own rows by id: another user's id is a 404, as a missing one.

    `make` gives a new row of the owner's; `{id}` in the path (or in `data`)
    names it; `missing` is an id of the right shape that names nothing.
    """

    path: str
    make: Callable[[World], Any]
    data: dict[str, str] | None = None
    missing: str = str(MISSING_ID)

    def _at(self, row_id: Any) -> tuple[str, dict[str, str] | None]:
        data = None if self.data is None else {
            key: value.format(id=row_id) for key, value in self.data.items()}
        return self.path.format(id=row_id), data

    def check(self, world: World, method: str) -> Problems:
        real, data = self._at(self.make(world))
        missing, missing_data = self._at(self.missing)
        problems = _signed_out(world, method, real, missing, data)
        for viewer in NON_OWNERS:
            problems += _like_missing(world, viewer, method, real, missing, data, missing_data)
        real, data = self._at(self.make(world))
        problems += _allowed(world, "owner", method, real, data, (200, 204, 302))[0]
        world.clients["owner"].get("/workouts/")
        return problems


@dataclass(frozen=True)
class OwnPage:
    """Shows the signed-in user's own data only (no id in the path): nobody else's leaks in."""

    path: str
    signed_out: tuple[int, ...] = (302,)

    def check(self, world: World, method: str) -> Problems:
        problems: Problems = []
        for viewer in VIEWERS:
            if viewer == "anonymous":
                answer = world.request(viewer, method, self.path)
                if answer.status_code not in self.signed_out or world.leaked(
                        viewer, answer.get_data(as_text=True)):
                    problems.append(f"anonymous {method} {self.path}: {answer.status_code}")
                continue
            problems += _allowed(world, viewer, method, self.path, None, (200,))[0]
        return problems


@dataclass(frozen=True)
class OwnAction:
    """Changes the signed-in user's own data only (no id to name another's).

    Done by a new user of no relation to anyone (it may end their session or
    account): no row of anyone else changes, and the answer shows nothing of theirs.
    """

    path: str
    data: dict[str, str] | None = None
    ok: tuple[int, ...] = (200, 204, 302, 303, 400)
    signed_out: tuple[int, ...] = (302,)

    def check(self, world: World, method: str) -> Problems:
        problems: Problems = []
        before = fingerprint(world.app)
        answer = world.request("anonymous", method, self.path, self.data)
        if answer.status_code not in self.signed_out:
            problems.append(f"anonymous {method} {self.path}: {answer.status_code}")
        if changed := changed_tables(before, fingerprint(world.app)):
            problems.append(f"anonymous {method} {self.path}: changed {changed}")
        name, client = world.spare_user()
        world.clients[name] = client
        actor = world.user_id(name)
        before = fingerprint(world.app, leave_out_user=actor)
        problems += _allowed(world, name, method, self.path, self.data, self.ok)[0]
        if changed := changed_tables(before, fingerprint(world.app, leave_out_user=actor)):
            problems.append(f"{name} {method} {self.path}: changed others' {changed}")
        return problems


@dataclass(frozen=True)
class Public:
    """Holds no one's private data (static files, health, sign-in pages): no marker in it."""

    path: str
    data: dict[str, str] | None = None

    def check(self, world: World, method: str) -> Problems:
        problems: Problems = []
        for viewer in OTHERS:
            answer = world.request(viewer, method, self.path, self.data)
            if answer.status_code >= 500:
                problems.append(f"{viewer} {method} {self.path}: {answer.status_code}")
            if leaks := world.leaked(viewer, answer.get_data(as_text=True)):
                problems.append(f"{viewer} {method} {self.path}: shows {leaks}")
        return problems


@dataclass(frozen=True)
class AdminOnly:
    """For admins only: 403 to any other signed-in user, the sign-in page to a visitor."""

    path: str
    data: dict[str, str] | None = None
    ok: tuple[int, ...] = (200, 302)

    def check(self, world: World, method: str) -> Problems:
        problems: Problems = []
        for viewer in VIEWERS:
            before = fingerprint(world.app)
            answer = world.request(viewer, method, self.path, self.data)
            changed = changed_tables(before, fingerprint(world.app))
            expected = {"admin": self.ok, "anonymous": (302,)}.get(viewer, (403,))
            if answer.status_code not in expected:
                problems.append(f"{viewer} {method} {self.path}: {answer.status_code}")
            if viewer != "admin" and changed:
                problems.append(f"{viewer} {method} {self.path}: changed {changed}")
            if leaks := world.leaked(viewer, answer.get_data(as_text=True)):
                problems.append(f"{viewer} {method} {self.path}: shows {leaks}")
        return problems


Check = (ShowsWorkout | OwnersWorkout | ShowsFeed | ShowsProfile | ActsOnProfile | OwnersRow
         | OwnPage | OwnAction | Public | AdminOnly)

# Every rule of the URL map, by (endpoint, method): the one table to extend.
ROUTES: dict[tuple[str, str], Check] = {
    # Shows a workout.
    ("workouts.show", "GET"): ShowsWorkout("/workouts/{id}"),
    # The owner's alone, on a workout.
    ("workouts.edit", "GET"): OwnersWorkout("/workouts/{id}/edit"),
    ("workouts.edit", "POST"): OwnersWorkout("/workouts/{id}/edit", EDIT_FORM),
    ("workouts.delete", "POST"): OwnersWorkout("/workouts/{id}/delete"),
    ("workouts.complete", "POST"): OwnersWorkout("/workouts/{id}/complete", planned=True),
    # Shows a profile, or acts on one's relation to it.
    ("profiles.show", "GET"): ShowsProfile("/u/{name}"),
    ("profiles.follow", "POST"): ActsOnProfile("/u/{name}/follow", ("blocked", "blocker")),
    ("profiles.unfollow", "POST"): ActsOnProfile("/u/{name}/unfollow", ("blocked",)),
    ("profiles.block", "POST"): ActsOnProfile("/u/{name}/block", ("blocked",)),
    ("profiles.unblock", "POST"): ActsOnProfile(
        "/u/{name}/unblock", ("follower", "requester", "stranger", "blocked", "admin"),
        blocking_first=True),
    # Lists the workouts of the people one follows.
    ("feed.index", "GET"): ShowsFeed("/feed"),
    # One's own rows, by id.
    ("profiles.accept", "POST"):
        OwnersRow("/followers/{id}/accept", World.pending_asker, missing="nobody"),
    ("profiles.decline", "POST"):
        OwnersRow("/followers/{id}/decline", World.pending_asker, missing="nobody"),
    ("imports.show", "GET"): OwnersRow("/workouts/imports/{id}", World.owner_import),
    ("goals.edit", "GET"): OwnersRow("/goals/{id}/edit", World.owner_goal),
    ("goals.edit", "POST"): OwnersRow("/goals/{id}/edit", World.owner_goal, GOAL_FORM),
    ("goals.delete", "POST"): OwnersRow("/goals/{id}/delete", World.owner_goal),
    ("notifications.mark_read", "POST"):
        OwnersRow("/notifications/{id}/read", World.owner_notification),
    ("notifications.mark_group_read", "POST"):
        OwnersRow("/notifications/read", World.owner_notification, {"ids": "{id}"}),
    ("push.unsubscribe", "DELETE"):
        OwnersRow("/push/subscriptions/{id}", World.owner_device, missing="A" * 22),
    ("push.remove_device", "POST"):
        OwnersRow("/settings/devices/{id}/remove", World.owner_device, missing="A" * 22),
    # One's own pages and answers.
    ("main.index", "GET"): OwnPage("/"),
    ("main.dashboard_live", "GET"): OwnPage("/dashboard/live"),
    ("workouts.index", "GET"): OwnPage("/workouts/"),
    ("workouts.new", "GET"): OwnPage("/workouts/new"),
    ("imports.new", "GET"): OwnPage("/workouts/import"),
    ("goals.index", "GET"): OwnPage("/goals/"),
    ("goals.new", "GET"): OwnPage("/goals/new"),
    ("notifications.inbox", "GET"): OwnPage("/notifications/"),
    ("notifications.api_notifications", "GET"):
        OwnPage("/api/notifications?after=0", signed_out=(401,)),
    ("settings.index", "GET"): OwnPage("/settings/"),
    ("account.change_password", "GET"): OwnPage("/settings/password"),
    ("account.delete_account", "GET"): OwnPage("/settings/delete"),
    ("account.export_data", "GET"): OwnPage("/settings/export"),
    ("push.device_list", "GET"): OwnPage("/settings/devices"),
    ("profiles.requests", "GET"): OwnPage("/followers/requests"),
    # One's own actions.
    ("workouts.new", "POST"): OwnAction("/workouts/new", {
        **EDIT_FORM, "completed": "y", "visibility": "public"}),
    ("imports.new", "POST"): OwnAction("/workouts/import"),
    ("goals.new", "POST"): OwnAction("/goals/new", GOAL_FORM),
    ("notifications.read_all", "POST"): OwnAction("/notifications/read-all"),
    ("settings.index", "POST"): OwnAction("/settings/", {"timezone": "Europe/Paris"}),
    ("account.change_password", "POST"): OwnAction("/settings/password", {
        "current_password": "password1", "password": "password2", "confirm": "password2"}),
    ("account.delete_account", "POST"): OwnAction("/settings/delete", {"password": "password1"}),
    ("auth.logout", "POST"): OwnAction("/auth/logout"),
    ("auth.logout_everywhere", "POST"): OwnAction("/auth/logout-everywhere"),
    ("push.subscribe", "POST"): OwnAction("/push/subscriptions", signed_out=(401,)),
    # No one's private data.
    ("static", "GET"): Public("/static/js/app.js"),
    ("main.favicon", "GET"): Public("/favicon.ico"),
    ("main.healthz", "GET"): Public("/healthz"),
    ("push.manifest", "GET"): Public("/manifest.webmanifest"),
    ("push.service_worker", "GET"): Public("/sw.js"),
    ("push.public_key", "GET"): Public("/push/key"),
    ("auth.login", "GET"): Public("/auth/login"),
    ("auth.login", "POST"): Public("/auth/login", {"email": "x@example.com", "password": "x"}),
    ("auth.register", "GET"): Public("/auth/register"),
    ("auth.register", "POST"): Public("/auth/register", {"username": ""}),
    ("account_reset.request_reset", "GET"): Public("/auth/reset"),
    ("account_reset.request_reset", "POST"): Public("/auth/reset", {"email": ""}),
    ("account_reset.reset_password", "GET"): Public("/auth/reset/forged"),
    ("account_reset.reset_password", "POST"): Public("/auth/reset/forged", {"password": "x"}),
    ("digest.unsubscribe", "GET"): Public("/digest/unsubscribe/forged"),
    ("digest.unsubscribe", "POST"): Public("/digest/unsubscribe/forged"),
    # Admins only.
    ("admin.index", "GET"): AdminOnly("/admin/"),
    ("admin.broadcast", "POST"): AdminOnly("/admin/broadcast", {"message": "Mx hello all"}),
}


@pytest.fixture(scope="module", params=DATABASE_PARAMS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[World]:
    """One app, database and cast for the module, on SQLite and on PostgreSQL."""
    if request.param == "postgresql":
        services.require("PostgreSQL", PG_SKIP_REASON)
    with database_url(request.param, tmp_path_factory.mktemp("matrix")) as url:
        with built_app(url) as app:
            yield build_world(app)


def url_map_rules(app: Flask) -> set[tuple[str, str]]:
    return {(rule.endpoint, method) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_is_classified(world: World) -> None:
    rules = url_map_rules(world.app)
    unclassified = sorted(rules - ROUTES.keys())
    assert not unclassified, (
        f"routes the privacy matrix does not cover: {unclassified}; "
        "add each to ROUTES in tests/test_privacy_matrix.py")
    assert not sorted(ROUTES.keys() - rules), "ROUTES names rules the app no longer has"


@pytest.mark.parametrize("rule", sorted(ROUTES), ids=lambda rule: f"{rule[0]}:{rule[1]}")
def test_each_viewer_gets_what_the_rule_allows(world: World, rule: tuple[str, str]) -> None:
    problems = ROUTES[rule].check(world, rule[1])
    assert not problems, "\n".join(problems)


_WORKOUT_IDS = re.compile(r'"workout_id": (\d+)|/workouts/(\d+)')


def workouts_named(payload: Any) -> set[int]:
    """Every workout an event's payload names, by `workout_id` or by its page's path."""
    return {int(a or b) for a, b in _WORKOUT_IDS.findall(json.dumps(payload))}


def test_socket_events_reach_no_one_the_rule_keeps_out(world: World) -> None:
    """The owner completes a planned workout, and logs a completed one, of each visibility
    while everyone's page is open."""
    sockets = {viewer: socketio.test_client(world.app, flask_test_client=world.clients[viewer])
               for viewer in SIGNED_IN}
    heard: dict[str, list[dict[str, Any]]] = {viewer: [] for viewer in SIGNED_IN}

    def listen() -> None:
        for viewer, socket in sockets.items():
            heard[viewer] += socket.get_received()

    try:
        listen()
        heard = {viewer: [] for viewer in SIGNED_IN}
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
