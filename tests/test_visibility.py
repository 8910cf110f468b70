"""Who sees a workout: the rule in services/social/visibility.py, and the page it guards.

Follows and blocks are written straight into their tables here, so this file
tests the rule alone; tests/test_privacy_matrix.py drives every route.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from fitness_app.extensions import db
from fitness_app.models import Block, Follow, User, Workout
from fitness_app.services.social import visibility
from fitness_app.services.training import workouts
from fitness_app.services.training.workouts import WorkoutInput
from tests.conftest import log_workout, signed_in_client
from tests.privacy_answers import without_tokens
from tests.social_rows import add_social_rows

LEVELS = ("private", "followers", "public")
# What each relation to the owner sees, by visibility.
SEES = {
    "owner": {"private", "followers", "public"},
    "follower": {"followers", "public"},
    "requester": {"public"},  # asked, not accepted yet
    "stranger": {"public"},
    "blocked": set(),  # the owner blocked them
    "blocker": set(),  # they blocked the owner
}


def user_id(app: Flask, username: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.username == username))


@pytest.fixture
def people(app: Flask) -> dict[str, FlaskClient]:
    """A signed-in client per relation, and `owner`'s three workouts, one per level."""
    clients = {name: signed_in_client(app, name) for name in SEES}
    for client in clients.values():
        client.get("/workouts/")  # reads the welcome message, so pages compare equal
    ids = {name: user_id(app, name) for name in SEES}
    for level in LEVELS:
        assert log_workout(clients["owner"], title=f"Run {level}", visibility=level).status_code \
            == 302
    add_social_rows(
        app,
        Follow(follower_id=ids["follower"], followee_id=ids["owner"], accepted=True),
        Follow(follower_id=ids["requester"], followee_id=ids["owner"], accepted=False),
        Block(blocker_id=ids["owner"], blocked_id=ids["blocked"]),
        Block(blocker_id=ids["blocker"], blocked_id=ids["owner"]),
    )
    return clients


def workout_ids(app: Flask) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(sa.select(Workout.visibility, Workout.id)).all()
    return dict(rows)


@pytest.mark.parametrize("who", list(SEES))
def test_the_rule_lets_each_relation_see_what_it_may(app, people, who):
    with app.app_context():
        viewer = user_id(app, who)
        seen = db.session.scalars(
            sa.select(Workout.visibility).where(visibility.seen_by(viewer))
        ).all()
        assert set(seen) == SEES[who]
        owner = user_id(app, "owner")
        assert set(visibility.levels_for(viewer, owner)) == SEES[who]


@pytest.mark.parametrize("who", list(SEES))
def test_the_workout_page_shows_what_the_rule_allows_and_404s_the_rest(app, people, who):
    for level, workout_id in workout_ids(app).items():
        response = people[who].get(f"/workouts/{workout_id}")
        if level in SEES[who]:
            assert response.status_code == 200
            assert f"Run {level}" in response.text
        else:
            assert response.status_code == 404
            assert f"Run {level}" not in response.text
            assert without_tokens(response.text) == without_tokens(
                people[who].get("/workouts/999999").text)


def test_signed_out_visitors_are_sent_to_sign_in_whether_or_not_it_exists(app, people):
    anonymous = app.test_client()
    public = workout_ids(app)["public"]
    seen = anonymous.get(f"/workouts/{public}")
    missing = anonymous.get("/workouts/999999")
    assert seen.status_code == missing.status_code == 302
    assert "/auth/login" in seen.location and "Run public" not in seen.text
    with app.app_context():
        assert db.session.scalar(
            sa.select(sa.func.count()).where(visibility.seen_by(None))
        ) == 0


def test_the_owner_sees_figures_and_actions_others_only_figures(app, people):
    public = workout_ids(app)["public"]
    mine = people["owner"].get(f"/workouts/{public}").text
    assert "31 min" in mine and "6.2 km" in mine and "Seen by: Everyone" in mine
    assert f'action="/workouts/{public}/delete"' in mine
    assert f'href="/workouts/{public}/edit"' in mine
    theirs = people["stranger"].get(f"/workouts/{public}").text
    assert "31 min" in theirs and "owner" in theirs
    assert "/delete" not in theirs and "/edit" not in theirs and "Seen by" not in theirs


def test_the_list_links_each_workout_to_its_page(app, people):
    page = people["owner"].get("/workouts/").text
    for workout_id in workout_ids(app).values():
        assert f'href="/workouts/{workout_id}"' in page


def test_a_new_workout_takes_the_default_from_settings_and_the_form_can_change_it(app, client,
                                                                                    signed_in):
    page = client.get("/workouts/new").text
    assert '<label for="visibility">Who can see it</label>' in page
    assert '<option selected value="followers">Followers</option>' in page
    response = client.post("/settings/", data={"timezone": "UTC", "default_visibility": "public"})
    assert response.status_code == 302
    assert '<option selected value="public">Everyone</option>' in client.get("/workouts/new").text
    assert '<option selected value="public">Everyone</option>' in client.get("/settings/").text
    log_workout(client, title="Default")
    log_workout(client, title="Chosen", visibility="private")
    with app.app_context():
        stored = dict(db.session.execute(sa.select(Workout.title, Workout.visibility)).all())
    assert stored == {"Default": "public", "Chosen": "private"}


def test_editing_changes_the_visibility_and_leaving_it_out_keeps_it(app, client, signed_in):
    log_workout(client, title="Hills", visibility="private")
    workout_id = workout_ids(app)["private"]
    form = {"title": "Hills", "activity": "run", "duration_minutes": "40",
            "performed_on": date.today().isoformat()}
    assert client.post(f"/workouts/{workout_id}/edit", data=form).status_code == 302
    assert workout_ids(app) == {"private": workout_id}
    response = client.post(f"/workouts/{workout_id}/edit", data={**form, "visibility": "public"})
    assert response.status_code == 302
    assert workout_ids(app) == {"public": workout_id}


@pytest.mark.one_database
@pytest.mark.parametrize("value", ["", "everyone", "PUBLIC", "private "])
def test_an_unknown_visibility_is_a_form_error(client, signed_in, value):
    response = log_workout(client, visibility=value)
    assert response.status_code == 400
    assert "Choose one of the options." in response.text
    settings = client.post("/settings/", data={"timezone": "UTC", "default_visibility": value})
    assert settings.status_code == 400


def test_any_insert_without_a_visibility_takes_the_owner_default(app, client, signed_in):
    """The column default reads the owner's setting: imports and scripts follow it too."""
    client.post("/settings/", data={"timezone": "UTC", "default_visibility": "private"})
    with app.app_context():
        owner = user_id(app, "ann")
        workouts.log_workout(owner, WorkoutInput("Scripted", "run", 30, None, date.today()), True)
        db.session.execute(sa.insert(Workout), [
            {"user_id": owner, "title": f"Bulk {n}", "activity": "ride",
             "duration_minutes": 60, "performed_on": date.today()} for n in range(3)])
        db.session.commit()
        levels = db.session.scalars(sa.select(Workout.visibility)).all()
    assert levels == ["private"] * 4
