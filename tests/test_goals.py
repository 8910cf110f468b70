"""Goals through the forms and the completion flow: progress, and achieved once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from fitness_app.extensions import db
from fitness_app.models import Achievement, Notification, Workout
from tests.conftest import log_workout


def goal_notes(app) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                db.select(Notification.message)
                .filter_by(kind="goal_achieved")
                .order_by(Notification.id)
            )
        )


def achievements(app) -> list[tuple[int, str]]:
    with app.app_context():
        return list(db.session.execute(db.select(Achievement.goal_id, Achievement.period_key)))


def add_goal(client, kind="workouts", target="2", period="week"):
    return client.post("/goals/new", data={"kind": kind, "target": target, "period": period})


def test_goal_achieved_once_per_period(client, app, signed_in):
    assert add_goal(client).status_code == 302
    log_workout(client)
    assert goal_notes(app) == []
    log_workout(client)
    log_workout(client)
    assert goal_notes(app) == ["2 workouts this week"]
    assert len(achievements(app)) == 1


def test_planned_workouts_do_not_count(client, app, signed_in):
    add_goal(client, target="1")
    log_workout(client, completed=None)
    assert goal_notes(app) == []
    with app.app_context():
        workout_id = db.session.scalar(db.select(Workout.id))
    client.post(f"/workouts/{workout_id}/complete")
    assert goal_notes(app) == ["1 workout this week"]


def test_new_goal_counts_workouts_already_logged(client, app, signed_in):
    log_workout(client, distance_km="6")
    log_workout(client, distance_km="5")
    add_goal(client, kind="distance_km", target="20", period="month")
    page = client.get("/goals/").data.decode()
    assert "20 km this month" in page
    assert "11 / 20" in page
    assert 'value="55"' in page
    add_goal(client, kind="distance_km", target="10", period="all_time")
    assert goal_notes(app) == ["10 km in total"]


def test_editing_a_counted_workout_recounts_it(client, app, signed_in):
    add_goal(client, kind="distance_km", target="10", period="week")
    log_workout(client, distance_km="6")
    assert goal_notes(app) == []
    with app.app_context():
        workout = db.session.scalar(db.select(Workout))
        form = {"title": workout.title, "activity": "run", "duration_minutes": "31",
                "distance_km": "12", "performed_on": workout.performed_on.isoformat()}
    client.post(f"/workouts/{workout.id}/edit", data=form)
    assert goal_notes(app) == ["10 km this week"]
    client.post(f"/workouts/{workout.id}/edit", data=form)
    assert len(goal_notes(app)) == 1


def test_streak_goal(client, app, signed_in):
    add_goal(client, kind="streak_days", target="3", period="week")
    today = date.today()
    for offset in (4, 2, 1):
        log_workout(client, performed_on=(today - timedelta(days=offset)).isoformat())
    assert goal_notes(app) == []
    log_workout(client, performed_on=today.isoformat())
    assert goal_notes(app) == ["3-day streak"]


@pytest.mark.one_database
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kind", "laps", "Choose one of the options."),
        ("target", "", "Enter a target number."),
        ("target", "abc", "Enter a number."),
        ("target", "0", "Enter a target between 0.1 and 100000."),
        ("target", "-3", "Enter a target between 0.1 and 100000."),
        ("target", "nan", "Enter a target between 0.1 and 100000."),
        ("target", "inf", "Enter a target between 0.1 and 100000."),
        ("period", "year", "Choose one of the options."),
    ],
)
def test_bad_goal_input(client, app, signed_in, field, value, message):
    data = {"kind": "workouts", "target": "3", "period": "week", field: value}
    response = client.post("/goals/new", data=data)
    assert response.status_code == 400
    assert message in response.data.decode()


@pytest.mark.one_database
def test_goal_form_labels(client, signed_in):
    page = client.get("/goals/new").data.decode()
    for field, label in [("kind", "Goal"), ("target", "Target"), ("period", "Period")]:
        assert f'<label for="{field}">{label}</label>' in page
    for value in ["workouts", "distance_km", "duration_minutes", "streak_days", "week",
                  "month", "all_time"]:
        assert f'value="{value}"' in page


def test_delete_goal(client, app, signed_in):
    add_goal(client)
    page = client.get("/goals/").data.decode()
    assert "2 workouts this week" in page
    with app.app_context():
        from fitness_app.models import Goal

        goal_id = db.session.scalar(db.select(Goal.id))
    assert client.post(f"/goals/{goal_id}/delete").status_code == 302
    assert "2 workouts this week" not in client.get("/goals/").data.decode()


def test_dashboard_shows_workouts_goals_chart_and_unread(client, app, signed_in):
    add_goal(client, target="5")
    log_workout(client, title="Morning swim", activity="swim", duration_minutes="45")
    page = client.get("/").data.decode()
    assert "Morning swim" in page
    assert "5 workouts this week" in page
    assert "<svg" in page and "45 min" in page
    assert '<span id="unread-count"' in page
    assert 'id="notification-container"' in page and 'aria-live="polite"' in page


def test_edit_goal_and_reach_it_by_lowering_the_target(client, app, signed_in):
    add_goal(client, target="3")
    log_workout(client, title="One")
    page = client.get("/goals/").get_data(as_text=True)
    assert "1 / 3 workouts" in page and "Achieved" not in page
    form = client.get("/goals/1/edit").get_data(as_text=True)
    assert 'value="3"' in form and '<label for="target">Target</label>' in form

    response = client.post("/goals/1/edit", data={"kind": "workouts", "target": "1",
                                                  "period": "week"})
    assert response.status_code == 302
    page = client.get("/goals/").get_data(as_text=True)
    assert "1 workout this week" in page and "Achieved" in page and "1 / 1 workout" in page
    assert goal_notes(app) == ["1 workout this week"]


def test_edit_goal_refuses_bad_input_and_other_peoples_goals(client, auth):
    auth.register()
    add_goal(client)
    bad = client.post("/goals/1/edit", data={"kind": "workouts", "target": "-1", "period": "week"})
    assert bad.status_code == 400 and 'aria-invalid="true"' in bad.get_data(as_text=True)
    auth.logout()
    auth.register(username="bob", email="bob@example.com")
    assert client.get("/goals/1/edit").status_code == 404
    assert client.post("/goals/1/edit", data={"kind": "workouts", "target": "1",
                                              "period": "week"}).status_code == 404
