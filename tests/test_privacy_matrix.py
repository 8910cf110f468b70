"""Who sees what, on every route: each viewer × each visibility × each rule of the URL map.

CONTRACT.md, "Who sees what": a workout, comment or profile someone may not
see is a 404 to them, exactly as if it did not exist, on every route, page,
feed, JSON answer, event and export. Every rule of `app.url_map` (endpoint and
method) has one entry in ROUTES naming its class; a rule without one fails
`test_every_route_is_classified`, so a new route cannot ship unchecked.
Adding a route is one entry.

The viewers are the owner, an accepted follower, a pending requester, a
stranger, someone the owner blocked, someone who blocked the owner, an admin,
and a signed-out visitor; they and the owner's data are in tests/privacy.py.
The classes are in tests/privacy_social.py (a workout, a comment, a profile,
the feed) and tests/privacy_own.py (one's own data, public pages, admins').
Events, notifications and the export: tests/test_privacy_events.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from flask import Flask

from tests.databases import DATABASE_PARAMS
from tests.privacy import World, matrix_world
from tests.privacy_own import AdminOnly, OwnAction, OwnersRow, OwnPage, Public
from tests.privacy_social import (
    ActsOnComment,
    ActsOnProfile,
    OwnersWorkout,
    ReactsToWorkout,
    ShowsFeed,
    ShowsProfile,
    ShowsWorkout,
    may_delete,
    may_report,
)

EDIT_FORM = {"title": "Edited", "activity": "run", "duration_minutes": "40",
             "performed_on": date.today().isoformat()}
GOAL_FORM = {"kind": "workouts", "target": "7", "period": "month"}

Check = (ShowsWorkout | OwnersWorkout | ReactsToWorkout | ActsOnComment | ShowsFeed
         | ShowsProfile | ActsOnProfile | OwnersRow | OwnPage | OwnAction | Public | AdminOnly)

# Every rule of the URL map, by (endpoint, method): the one table to extend.
ROUTES: dict[tuple[str, str], Check] = {
    # Shows a workout.
    ("workouts.show", "GET"): ShowsWorkout("/workouts/{id}"),
    # The owner's alone, on a workout.
    ("workouts.edit", "GET"): OwnersWorkout("/workouts/{id}/edit"),
    ("workouts.edit", "POST"): OwnersWorkout("/workouts/{id}/edit", EDIT_FORM),
    ("workouts.delete", "POST"): OwnersWorkout("/workouts/{id}/delete"),
    ("workouts.complete", "POST"): OwnersWorkout("/workouts/{id}/complete", planned=True),
    # Reacts to a workout, or acts on a comment.
    ("reactions.give_kudos", "POST"): ReactsToWorkout("/workouts/{id}/kudos", owner=400),
    ("reactions.add_comment", "POST"):
        ReactsToWorkout("/workouts/{id}/comments", {"body": "Nice one"}),
    ("reactions.delete_comment", "POST"): ActsOnComment("/comments/{id}/delete", may_delete),
    ("reactions.report_comment", "POST"):
        ActsOnComment("/comments/{id}/report", may_report, {"reason": "spam"}),
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
    ("admin.report_list", "GET"): AdminOnly("/admin/reports"),
    ("admin.delete_reported", "POST"):
        AdminOnly("/admin/reports/{id}/delete", make=World.reported_comment),
    ("admin.dismiss_reports", "POST"):
        AdminOnly("/admin/reports/{id}/dismiss", make=World.reported_comment),
}


@pytest.fixture(scope="module", params=DATABASE_PARAMS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[World]:
    """One app, database and cast for the module, on SQLite and on PostgreSQL."""
    with matrix_world(request.param, tmp_path_factory) as world:
        yield world


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
