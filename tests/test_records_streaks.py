"""Personal records and streaks through the workout forms, as the socket sees them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from fitness_app.extensions import db, socketio
from fitness_app.models import Notification, Workout, utcnow
from fitness_app.services.training import goals
from tests.conftest import log_workout

TODAY = date.today()


@pytest.fixture
def signed_in(auth):
    auth.register()
    return auth


def kind_notes(app, kind: str) -> list[Notification]:
    with app.app_context():
        rows = db.session.scalars(
            db.select(Notification).filter_by(kind=kind).order_by(Notification.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def day(offset: int) -> str:
    return (TODAY - timedelta(days=offset)).isoformat()


def test_a_longer_ride_brings_one_record_and_the_first_sets_it_quietly(app, client, signed_in):
    socket = socketio.test_client(app, flask_test_client=client)
    socket.get_received()
    log_workout(client, activity="ride", distance_km="70", duration_minutes="150")
    assert kind_notes(app, "personal_record") == []

    log_workout(client, activity="ride", distance_km="82", duration_minutes="140")
    [record] = kind_notes(app, "personal_record")
    assert record.title == "Personal record"
    assert record.message == "Longest ride yet: 82 km, 12 km more than before"
    assert record.data == {"activity": "ride", "record": "distance_km", "value": 82.0,
                           "previous": 70.0}
    pushed = [e["args"][0] for e in socket.get_received() if e["name"] == "notification"]
    assert [n["kind"] for n in pushed] == ["workout_completed", "workout_completed",
                                           "personal_record"]
    assert pushed[-1]["silent"] is False

    # Not longer, the same, another activity's first: no record.
    log_workout(client, activity="ride", distance_km="80", duration_minutes="100")
    log_workout(client, activity="ride", distance_km="82", duration_minutes="100")
    log_workout(client, activity="run", distance_km="30", duration_minutes="200")
    assert len(kind_notes(app, "personal_record")) == 1

    log_workout(client, activity="ride", distance_km=None, duration_minutes="160")
    assert kind_notes(app, "personal_record")[-1].message == (
        "Longest ride yet: 160 minutes, 10 minutes more than before"
    )


def test_planned_workouts_set_no_record_until_completed(app, client, signed_in):
    log_workout(client, activity="swim", distance_km="1")
    log_workout(client, activity="swim", distance_km="2", completed=None)
    assert kind_notes(app, "personal_record") == []
    with app.app_context():
        planned = db.session.scalar(db.select(Workout.id).filter_by(completed_at=None))
    client.post(f"/workouts/{planned}/complete")
    assert [n.message for n in kind_notes(app, "personal_record")] == [
        "Longest swim yet: 2 km, 1 km more than before"
    ]


def test_seven_days_in_a_row_announce_three_then_seven_once(app, client, signed_in):
    for offset in range(6, -1, -1):
        log_workout(client, performed_on=day(offset))
    log_workout(client, performed_on=day(0))
    streaks = kind_notes(app, "streak")
    assert [n.data for n in streaks] == [
        {"days": 3, "since": day(6)}, {"days": 7, "since": day(6)}
    ]
    assert streaks[1].title == "Streak"
    assert streaks[1].message.startswith("7 days in a row with a workout, since ")
    page = client.get("/").data.decode()
    assert "Current streak: <strong>7 days</strong>" in page


def test_a_new_streak_after_a_break_is_announced_again(app, client, signed_in):
    for offset in (9, 8, 7, 3, 2, 1):
        log_workout(client, performed_on=day(offset))
    assert [n.data for n in kind_notes(app, "streak")] == [
        {"days": 3, "since": day(9)}, {"days": 3, "since": day(3)}
    ]
    assert "Current streak: <strong>3 days</strong>" in client.get("/").data.decode()


def test_filling_in_a_day_before_the_streak_extends_it_backwards(app, client, signed_in):
    for offset in (0, 1, 3, 4, 5):
        log_workout(client, performed_on=day(offset))
    # Days 5..3 were logged after the current streak (1..0) began: history, not news.
    assert kind_notes(app, "streak") == []
    log_workout(client, performed_on=day(2))
    # One run of 6 days now, read back only as far as it goes; its highest milestone.
    assert [n.data for n in kind_notes(app, "streak")] == [{"days": 3, "since": day(5)}]
    assert "Current streak: <strong>6 days</strong>" in client.get("/").data.decode()


def test_deleting_a_day_breaks_the_streak_on_the_dashboard(app, client, signed_in):
    for offset in (2, 1, 0):
        log_workout(client, performed_on=day(offset), title=f"Day {offset}")
    assert "Current streak: <strong>3 days</strong>" in client.get("/").data.decode()
    with app.app_context():
        middle = db.session.scalar(db.select(Workout.id).filter_by(title="Day 1"))
    client.post(f"/workouts/{middle}/delete")
    assert "Current streak: <strong>1 day</strong>" in client.get("/").data.decode()


def test_history_without_a_streak_row_builds_it_at_the_next_completion(app, client, signed_in):
    # Workouts written around the services (an import, the bench's aged history):
    # no streak row, no bests. The next completion reads the run back.
    with app.app_context():
        db.session.execute(db.insert(Workout), [
            {"user_id": 1, "title": f"Imported {offset}", "activity": "run",
             "duration_minutes": 30, "distance_km": 5.0, "performed_on": TODAY - timedelta(offset),
             "completed_at": utcnow()}
            for offset in (2, 1)])
        db.session.commit()
    log_workout(client, performed_on=day(0), distance_km="4")
    assert [n.data for n in kind_notes(app, "streak")] == [{"days": 3, "since": day(2)}]
    log_workout(client, performed_on=day(0), distance_km="4.5")
    assert len(kind_notes(app, "streak")) == 1
    assert "Current streak: <strong>3 days</strong>" in client.get("/").data.decode()
    # The first best came from the completion, not from the imported history.
    assert [n.message for n in kind_notes(app, "personal_record")] == [
        "Longest run yet: 4.5 km, 0.5 km more than before"
    ]


def test_dashboard_lists_personal_records(app, client, signed_in):
    log_workout(client, activity="ride", distance_km="42.5", duration_minutes="95")
    page = client.get("/").data.decode()
    assert "Ride: 42.5 km" in page and "Ride: 95 min" in page


def ride_ids(app) -> dict[str, int]:
    with app.app_context():
        return dict(db.session.execute(db.select(Workout.title, Workout.id)).all())


def edit(client, workout_id: int, **fields: str):
    data = {"title": "Ride", "activity": "ride", "duration_minutes": "60", "distance_km": "10",
            "performed_on": TODAY.isoformat(), **fields}
    return client.post(f"/workouts/{workout_id}/edit", data=data)


def test_fixing_a_mistyped_record_or_deleting_it_brings_back_the_real_best(
    app, client, signed_in
):
    log_workout(client, title="Short", activity="ride", distance_km="40", duration_minutes="60")
    log_workout(client, title="Typo", activity="ride", distance_km="820", duration_minutes="60")
    assert "Ride: 820 km" in client.get("/").data.decode()
    ids = ride_ids(app)

    assert edit(client, ids["Typo"], title="Typo", distance_km="82").status_code == 302
    assert "Ride: 82 km" in client.get("/").data.decode()
    # Raising a figure by editing keeps the best quietly; only completions announce.
    assert edit(client, ids["Short"], title="Short", distance_km="90").status_code == 302
    assert "Ride: 90 km" in client.get("/").data.decode()
    assert len(kind_notes(app, "personal_record")) == 1  # the 820 km one, when logged

    client.post(f"/workouts/{ids['Short']}/delete")
    assert "Ride: 82 km" in client.get("/").data.decode()
    client.post(f"/workouts/{ids['Typo']}/delete")
    assert "Ride:" not in client.get("/").data.decode()


def test_all_time_totals_follow_completions_edits_and_deletions(app, client, signed_in):
    def set_goal() -> None:
        client.post("/goals/new",
                    data={"kind": "distance_km", "target": "100", "period": "all_time"})

    def all_time() -> float:
        with app.app_context():
            [progress] = goals.progress_for(1)
            return progress.value

    # Logged before the goal: counted when it is set.
    log_workout(client, title="A", distance_km="6.5")
    set_goal()
    log_workout(client, title="B", distance_km="4", performed_on=day(400))
    log_workout(client, title="Planned", distance_km="50", completed=None)
    assert all_time() == 10.5
    ids = ride_ids(app)
    edit(client, ids["B"], title="B", activity="run", distance_km="14",
         performed_on=day(400))
    assert all_time() == 20.5
    client.post(f"/workouts/{ids['A']}/delete")
    assert all_time() == 14
    client.post(f"/workouts/{ids['Planned']}/complete")
    assert all_time() == 64

    # Without an all-time goal nothing is kept up; a new one counts afresh.
    with app.app_context():
        goal_id = goals.user_goals(1)[0].id
    client.post(f"/goals/{goal_id}/delete")
    log_workout(client, title="C", distance_km="1")
    client.post(f"/workouts/{ids['B']}/delete")
    set_goal()
    assert all_time() == 51
