"""The scheduler end to end: reminders, goal nudges and weekly summaries at the right local minute.

Settings and workouts go through the real forms; the clock is moved with
time-machine; each scheduler turn is `loop.run_due()`, the function the
background task calls; notifications are read as a browser reads them
(`/api/notifications`, and the socket). Zones that change: Europe/Berlin
(29 March and 25 October 2026) and America/New_York (8 March and 1 November).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from fitness_app.extensions import db, socketio
from fitness_app.models import DueItem, Workout
from fitness_app.services.schedule import loop
from tests.conftest import AuthActions, built_app

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def save_settings(client: FlaskClient, **fields: object):
    data = {"timezone": BERLIN, "quiet_start": "", "quiet_end": "", "reminder_minutes": "30",
            "nudge_time": "", "summary_day": "", "summary_time": "", "digest_time": "",
            **fields}
    response = client.post("/settings/", data=data)
    assert response.status_code == 302, response.data.decode()[:2000]
    return response


def turn(app: Flask) -> int:
    """One scheduler turn at the travelled time; how many rows it claimed."""
    with app.app_context():
        return loop.run_due()


def drain(app: Flask) -> None:
    while turn(app):
        pass


def inbox(client: FlaskClient, kind: str | None = None) -> list[dict]:
    found = client.get("/api/notifications?after=0").json["notifications"]
    return [n for n in found if kind is None or n["kind"] == kind]


def due_rows(app: Flask) -> list[tuple[str, int | None, datetime]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(DueItem.kind, DueItem.workout_id, DueItem.due_at).order_by(DueItem.id))
        return [(kind, workout, due.replace(tzinfo=UTC) if due.tzinfo is None else due)
                for kind, workout, due in rows]


def plan_workout(client: FlaskClient, day: str, at: str, title: str = "Tempo run") -> int:
    response = client.post("/workouts/new", data={
        "title": title, "activity": "run", "duration_minutes": "45", "performed_on": day,
        "time": at})
    assert response.status_code == 302, response.data.decode()[:2000]
    return max_workout_id(client)


def max_workout_id(client: FlaskClient) -> int:
    app = client.application
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.max(Workout.id)))


def add_goal(client: FlaskClient, kind: str, target: str, period: str) -> None:
    response = client.post("/goals/new", data={"kind": kind, "target": target, "period": period})
    assert response.status_code == 302


def log_done(client: FlaskClient, day: str, km: str = "5", minutes: str = "30") -> None:
    response = client.post("/workouts/new", data={
        "title": "Easy run", "activity": "run", "duration_minutes": minutes, "distance_km": km,
        "performed_on": day, "completed": "y"})
    assert response.status_code == 302


@pytest.fixture
def clock():
    """The test's clock, moved with `clock.move_to(...)`; it stands still in between.

    Every request happens on this clock: Flask's session cookie is signed with
    the time and refused by a server whose clock is over a month away.
    """
    with time_machine.travel(utc(2026, 3, 20, 9), tick=False) as traveller:
        yield traveller


@pytest.fixture
def ann(client: FlaskClient, clock) -> FlaskClient:
    AuthActions(client).register()
    return client


def later(clock, client: FlaskClient, moment: datetime) -> None:
    """Jump months ahead and sign in again, as a person would after so long."""
    clock.move_to(moment)
    AuthActions(client).login()


# Reminders


def test_a_planned_workout_is_reminded_at_its_start_minus_the_lead_once(app, ann, clock):
    clock.move_to(utc(2026, 3, 27, 9))
    save_settings(ann, reminder_minutes="30")
    workout_id = plan_workout(ann, "2026-03-28", "18:00")  # Saturday, CET (UTC+1)
    assert due_rows(app) == [("reminder", workout_id, utc(2026, 3, 28, 16, 30))]
    socket = socketio.test_client(app, flask_test_client=ann)
    socket.get_received()
    clock.move_to(utc(2026, 3, 28, 16, 29, 59))
    assert turn(app) == 0
    clock.move_to(utc(2026, 3, 28, 16, 30, 2))
    assert turn(app) == 1
    assert turn(app) == 0
    [reminder] = inbox(ann, "reminder")
    assert reminder["title"] == "Tempo run at 18:00"
    assert reminder["message"] == "It starts in 30 minutes."
    assert reminder["data"] == {"workout_id": workout_id, "starts_at": "2026-03-28T17:00:00Z"}
    assert reminder["url"] == f"/workouts/{workout_id}"
    assert reminder["silent"] is False
    pushed = [e["args"][0] for e in socket.get_received() if e["name"] == "notification"]
    assert [n["id"] for n in pushed] == [reminder["id"]]
    assert due_rows(app) == []
    clock.move_to(utc(2026, 3, 28, 17, 10))
    assert turn(app) == 0
    assert len(inbox(ann, "reminder")) == 1


def test_the_start_keeps_its_wall_clock_time_across_the_change(app, ann, clock):
    # Berlin's clocks go forward in the night of 28 to 29 March: 18:00 is then UTC+2.
    clock.move_to(utc(2026, 3, 28, 9))
    save_settings(ann, reminder_minutes="60")
    workout_id = plan_workout(ann, "2026-03-29", "18:00")
    assert due_rows(app) == [("reminder", workout_id, utc(2026, 3, 29, 15))]
    clock.move_to(utc(2026, 3, 29, 15, 0, 1))
    assert turn(app) == 1
    [reminder] = inbox(ann, "reminder")
    assert reminder["data"]["starts_at"] == "2026-03-29T16:00:00Z"
    assert reminder["message"] == "It starts in 1 hour."


def test_completing_deleting_or_moving_a_workout_cancels_or_moves_its_reminder(app, ann, clock):
    clock.move_to(utc(2026, 3, 27, 9))
    save_settings(ann, reminder_minutes="15")
    done = plan_workout(ann, "2026-03-28", "07:00", "Done early")
    gone = plan_workout(ann, "2026-03-28", "08:00", "Not today")
    moved = plan_workout(ann, "2026-03-28", "09:00", "Later")
    untimed = plan_workout(ann, "2026-03-28", "", "Some time")
    assert {row[1] for row in due_rows(app)} == {done, gone, moved}
    clock.move_to(utc(2026, 3, 27, 10))
    assert ann.post(f"/workouts/{done}/complete").status_code == 302
    assert ann.post(f"/workouts/{gone}/delete").status_code == 302
    response = ann.post(f"/workouts/{moved}/edit", data={
        "title": "Later", "activity": "run", "duration_minutes": "45",
        "performed_on": "2026-03-28", "time": "19:30"})
    assert response.status_code == 302
    page = ann.get(f"/workouts/{moved}/edit").data.decode()
    assert 'value="19:30"' in page
    assert due_rows(app) == [("reminder", moved, utc(2026, 3, 28, 18, 15))]
    clock.move_to(utc(2026, 3, 28, 8, 50))
    assert turn(app) == 0
    clock.move_to(utc(2026, 3, 28, 18, 15))
    assert turn(app) == 1
    assert [n["data"]["workout_id"] for n in inbox(ann, "reminder")] == [moved]
    with app.app_context():
        assert db.session.get(Workout, untimed).start_time is None


def test_a_workout_without_a_time_or_with_reminders_off_gets_none(app, ann, clock):
    clock.move_to(utc(2026, 3, 27, 9))
    save_settings(ann, reminder_minutes="")
    plan_workout(ann, "2026-03-28", "18:00")
    assert due_rows(app) == []
    # Turning reminders on plans the workouts still ahead, in the zone saved.
    save_settings(ann, reminder_minutes="5", timezone=NEW_YORK)
    [(kind, _, due)] = due_rows(app)
    assert (kind, due) == ("reminder", utc(2026, 3, 28, 21, 55))  # 18:00 EDT is 22:00 UTC


def test_a_reminder_in_quiet_hours_or_muted_arrives_silent(app, ann, clock):
    clock.move_to(utc(2026, 3, 27, 9))
    save_settings(ann, reminder_minutes="0", quiet_start="06:00", quiet_end="08:00")
    plan_workout(ann, "2026-03-28", "07:00")
    clock.move_to(utc(2026, 3, 28, 6))
    assert turn(app) == 1
    [reminder] = inbox(ann, "reminder")
    assert reminder["silent"] is True and reminder["message"] == "It starts now."
    assert ann.get("/api/notifications").json["unread"] == 1
    # Outside quiet hours, a muted kind is silent too; the others are not.
    save_settings(ann, reminder_minutes="0", nudge_time="12:00", muted=["reminder"])
    add_goal(ann, "workouts", "5", "week")
    plan_workout(ann, "2026-03-28", "12:00")
    clock.move_to(utc(2026, 3, 28, 11))
    drain(app)
    later_ones = [(n["kind"], n["silent"]) for n in inbox(ann)][1:]
    assert sorted(later_ones) == [("goal_nudge", False), ("reminder", True)]
    assert ann.get("/api/notifications").json["unread"] == 3


# Goal nudges


def test_a_nudge_lists_the_open_week_and_month_goals_with_what_is_left(app, ann, clock):
    clock.move_to(utc(2026, 3, 27, 9))  # Friday
    save_settings(ann, nudge_time="08:00")
    add_goal(ann, "workouts", "3", "week")
    add_goal(ann, "distance_km", "50", "month")
    add_goal(ann, "duration_minutes", "30", "week")  # achieved below
    add_goal(ann, "workouts", "100", "all_time")  # not a week or month goal
    log_done(ann, "2026-03-26", km="12.5", minutes="40")
    clock.move_to(utc(2026, 3, 28, 7, 0, 3))  # Saturday 08:00 CET
    assert turn(app) == 1
    [nudge] = inbox(ann, "goal_nudge")
    with app.app_context():
        goals = dict(db.session.execute(sa.text("SELECT target, id FROM goals")).all())
    assert nudge["data"]["goals"] == [
        {"goal_id": goals[3], "left": 2, "unit": "workouts", "days_left": 2},
        {"goal_id": goals[50], "left": 37.5, "unit": "km", "days_left": 4},
    ]
    assert nudge["title"] == "2 goals within reach"
    assert nudge["message"] == ("3 workouts this week: 2 workouts left, 2 days to go; "
                                "50 km this month: 37.5 km left, 4 days to go. You can do it!")
    assert nudge["url"] == "/goals/"
    # Once a day: the row moved to tomorrow 08:00, now CEST (UTC+2).
    assert due_rows(app) == [("goal_nudge", None, utc(2026, 3, 29, 6))]


def test_no_nudge_when_every_goal_is_achieved_or_there_are_none(app, ann, clock):
    clock.move_to(utc(2026, 3, 27, 9))
    save_settings(ann, nudge_time="08:00")
    clock.move_to(utc(2026, 3, 28, 7))
    assert turn(app) == 1
    clock.move_to(utc(2026, 3, 28, 9))
    add_goal(ann, "workouts", "1", "week")
    log_done(ann, "2026-03-28")
    clock.move_to(utc(2026, 3, 29, 6))
    assert turn(app) == 1
    assert inbox(ann, "goal_nudge") == []
    assert due_rows(app) == [("goal_nudge", None, utc(2026, 3, 30, 6))]


def nudge_every_day(app: Flask, client: FlaskClient, clock, days: list[datetime]) -> list[str]:
    """Run the scheduler every half hour over each day; when the nudges came (UTC).

    Every time these tests expect, and the second pass of a repeated hour, lies
    on that grid.
    """
    for day in days:
        for step in range(0, 24 * 2):
            clock.move_to(day + timedelta(minutes=30 * step))
            turn(app)
    return [n["created_at"] for n in inbox(client, "goal_nudge")]


@pytest.mark.parametrize(
    ("zone", "first_day", "expected"),
    [
        # 08:00 on both sides of each change, in each zone.
        (BERLIN, utc(2026, 3, 28), ["2026-03-28T07:00:00Z", "2026-03-29T06:00:00Z"]),
        (BERLIN, utc(2026, 10, 24), ["2026-10-24T06:00:00Z", "2026-10-25T07:00:00Z"]),
        (NEW_YORK, utc(2026, 3, 7, 6), ["2026-03-07T13:00:00Z", "2026-03-08T12:00:00Z"]),
        (NEW_YORK, utc(2026, 10, 31, 6), ["2026-10-31T12:00:00Z", "2026-11-01T13:00:00Z"]),
    ],
)
def test_eight_oclock_stays_eight_oclock_across_daylight_saving(app, ann, clock, zone,
                                                                  first_day, expected):
    later(clock, ann, first_day - timedelta(hours=1))
    save_settings(ann, timezone=zone, nudge_time="08:00")
    add_goal(ann, "workouts", "5", "month")
    times = nudge_every_day(app, ann, clock, [first_day, first_day + timedelta(days=1)])
    assert times == expected


def test_a_skipped_time_comes_at_the_next_minute_and_a_repeated_one_once(app, ann, clock):
    clock.move_to(utc(2026, 3, 28, 12))
    save_settings(ann, nudge_time="02:30")
    add_goal(ann, "workouts", "5", "month")
    # 29 March: Berlin skips 02:00–02:59, so 02:30 comes at 03:00 CEST (01:00 UTC).
    times = nudge_every_day(app, ann, clock, [utc(2026, 3, 29)])
    assert times == ["2026-03-29T01:00:00Z"]
    later(clock, ann, utc(2026, 10, 24, 12))
    save_settings(ann, nudge_time="02:30")
    # 25 October: 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET): once.
    times = nudge_every_day(app, ann, clock, [utc(2026, 10, 25)])
    assert times[1:] == ["2026-10-25T00:30:00Z"]


def test_changing_ones_zone_moves_what_is_due(app, ann, clock):
    clock.move_to(utc(2026, 3, 27, 9))
    save_settings(ann, nudge_time="08:00", summary_day="sun", summary_time="18:00")
    assert due_rows(app) == [("goal_nudge", None, utc(2026, 3, 28, 7)),
                             ("weekly_summary", None, utc(2026, 3, 29, 16))]
    save_settings(ann, timezone=NEW_YORK, nudge_time="08:00", summary_day="sun",
                  summary_time="18:00")
    # 09:00 UTC is 05:00 in New York: today's 08:00 is still ahead there.
    assert due_rows(app) == [("goal_nudge", None, utc(2026, 3, 27, 12)),
                             ("weekly_summary", None, utc(2026, 3, 29, 22))]
    page = ann.get("/settings/").data.decode()
    assert "Times are on your clock: America/New_York" in page
    assert "Today, 08:00 EDT" in page


# Weekly summaries


def test_the_weekly_summary_compares_the_last_seven_days_with_the_seven_before(app, ann, clock):
    clock.move_to(utc(2026, 3, 29, 8))  # Sunday
    save_settings(ann, summary_day="sun", summary_time="18:00")
    for day in ("2026-03-16", "2026-03-18", "2026-03-22"):  # the week before: 3, 15 km
        log_done(ann, day, km="5", minutes="30")
    for day in ("2026-03-23", "2026-03-25", "2026-03-27", "2026-03-29"):  # this one
        log_done(ann, day, km="8", minutes="50")
    log_done(ann, "2026-03-15", km="42", minutes="240")  # 14 days ago: in neither
    clock.move_to(utc(2026, 3, 29, 16))  # (Sunday's nudge, ten hours late, is dropped)
    drain(app)
    [summary] = inbox(ann, "weekly_summary")
    assert summary["data"] == {
        "workouts": {"value": 4, "previous": 3},
        "distance_km": {"value": 32, "previous": 15},
        "duration_minutes": {"value": 200, "previous": 90},
        "since": "2026-03-23", "until": "2026-03-29",
    }
    assert summary["title"] == "Your week: 4 workouts, 32 km"
    assert summary["message"] == ("4 workouts, 32 km, 3 h 20 min: 113 % more distance than "
                                  "the week before. Keep it up!")
    assert due_rows(app) == [("weekly_summary", None, utc(2026, 4, 5, 16))]


# The loop: late work, one item per user per unit, restarts


def test_late_work_runs_within_the_hour_and_is_dropped_after_it(app, ann, caplog, clock):
    clock.move_to(utc(2026, 3, 27, 9))
    save_settings(ann, reminder_minutes="0", nudge_time="08:00", summary_day="sat",
                  summary_time="07:00")
    add_goal(ann, "workouts", "5", "week")
    plan_workout(ann, "2026-03-28", "07:30")
    # The server was down from before 07:00 until 08:59 (local, CET) on Saturday.
    caplog.set_level(logging.WARNING, logger="fitness_app.services.schedule.loop")
    clock.move_to(utc(2026, 3, 28, 7, 59))
    drain(app)
    kinds = [n["kind"] for n in inbox(ann)]
    assert kinds == ["goal_nudge"]  # 59 minutes late: sent
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped) == 1
    assert "2 due items" in dropped[0] and "reminder ×1" in dropped[0]
    assert "weekly_summary ×1" in dropped[0]
    # Dropped, not lost: the recurring kinds come again at their next time.
    assert due_rows(app) == [("goal_nudge", None, utc(2026, 3, 29, 6)),
                             ("weekly_summary", None, utc(2026, 4, 4, 5))]


def test_a_users_items_of_the_same_minute_go_in_separate_units(app, ann, clock):
    clock.move_to(utc(2026, 3, 27, 9))
    save_settings(ann, reminder_minutes="60", nudge_time="08:00")
    add_goal(ann, "workouts", "5", "week")
    plan_workout(ann, "2026-03-28", "09:00")
    clock.move_to(utc(2026, 3, 28, 7))
    assert turn(app) == 2  # both claimed, one of them done
    assert len(inbox(ann)) == 1
    assert turn(app) == 1
    notifications = inbox(ann)
    assert sorted(n["kind"] for n in notifications) == ["goal_nudge", "reminder"]
    assert len({n["group"] for n in notifications}) == 2  # two popups, two pushes


def test_due_rows_survive_a_restart(database, clock):
    with built_app(database) as first:
        client = first.test_client()
        clock.move_to(utc(2026, 3, 27, 9))
        AuthActions(client).register()
        save_settings(client, reminder_minutes="30")
        workout_id = plan_workout(client, "2026-03-28", "18:00")
    clock.move_to(utc(2026, 3, 28, 16, 40))
    with built_app(database) as second:
        with second.app_context():
            assert loop.run_due() == 1
            [row] = db.session.execute(sa.text("SELECT kind, data FROM notifications")).all()
        assert row.kind == "reminder" and str(workout_id) in str(row.data)


def test_settings_page_has_the_reminders_section_with_its_labels(app, ann):
    page = ann.get("/settings/").data.decode()
    for name, label in [("reminder_minutes", "Remind me before a planned workout"),
                        ("nudge_time", "Goal nudge at"), ("summary_day", "Weekly summary on"),
                        ("summary_time", "at"),
                        ("digest_time", "Email me my unread notifications daily at")]:
        assert f'<label for="{name}">{label}</label>' in page
    for kind, label in [("reminder", "Workout reminder"), ("goal_nudge", "Goal nudge"),
                        ("weekly_summary", "Weekly summary")]:
        assert f'value="{kind}"' in page and f">{label}</label>" in page
    assert '<option selected value="30">30 minutes before</option>' in page
    for value in ("", "0", "5", "10", "15", "30", "60", "120", "1440"):
        assert f'value="{value}"' in page
    form = ann.get("/workouts/new").data.decode()
    assert '<label for="time">Time</label>' in form


@pytest.mark.one_database
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"summary_day": "sun"}, "Choose a time for the weekly summary"),
        ({"summary_day": "someday", "summary_time": "18:00"}, "Choose one of the options."),
        ({"reminder_minutes": "7"}, "Choose one of the options."),
        ({"nudge_time": "8 o'clock"}, "Enter a time."),
        ({"digest_time": "24:00"}, "Enter a time."),
    ],
)
def test_bad_reminder_settings_get_400_with_a_message(app, ann, fields, message):
    data = {"timezone": BERLIN, "quiet_start": "", "quiet_end": "", "reminder_minutes": "30",
            **fields}
    response = ann.post("/settings/", data=data)
    assert response.status_code == 400
    assert message in response.data.decode()
    assert due_rows(app) == []


def test_a_nudge_and_a_summary_speak_the_users_unit(app, ann, clock):
    clock.move_to(utc(2026, 3, 27, 9))  # Friday
    save_settings(ann, units="imperial", nudge_time="08:00", summary_day="sun",
                  summary_time="18:00")
    add_goal(ann, "distance_km", "20", "month")  # typed in miles
    response = ann.post("/workouts/new", data={
        "title": "Long run", "activity": "run", "duration_minutes": "80",
        "distance_mi": "8", "performed_on": "2026-03-27", "completed": "y"})
    assert response.status_code == 302
    clock.move_to(utc(2026, 3, 28, 7))
    assert turn(app) == 1
    [nudge] = inbox(ann, "goal_nudge")
    assert nudge["data"]["goals"][0]["left"] == 12 and nudge["data"]["goals"][0]["unit"] == "mi"
    assert nudge["message"].startswith("20 mi this month: 12 mi left, 4 days to go")
    clock.move_to(utc(2026, 3, 29, 16))  # (Sunday's nudge, ten hours late, is dropped)
    drain(app)
    [summary] = inbox(ann, "weekly_summary")
    assert summary["title"] == "Your week: 1 workout, 8 mi"
    assert summary["data"]["distance_km"]["value"] == round(8 * 1.609344, 2)
