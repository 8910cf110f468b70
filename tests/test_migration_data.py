"""Migrations carry existing data over: read state, the goals each user has, streaks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.security import generate_password_hash

from fitness_app import create_app
from fitness_app.extensions import db
from fitness_app.models import Notification, Streak, User
from fitness_app.services.notifications import inbox, read_marks
from fitness_app.services.notifications.unread_counts import unread_among, unread_count
from fitness_app.services.training import streaks, workouts
from fitness_app.services.training.workouts import WorkoutInput
from tests.conftest import AuthActions, log_workout

BEFORE = "a4c1e7f09b3d"
T0 = datetime(2020, 1, 1, tzinfo=UTC)


def at(days: int) -> datetime:
    return T0 + timedelta(days=days)


def _seed_old_schema(conn: sa.Connection) -> dict[str, int]:
    """Rows as the old model wrote them, read marks and all."""
    meta = sa.MetaData()
    meta.reflect(conn, only=["users", "notifications", "announcement_reads"])
    users, notes, reads = (meta.tables[n] for n in ("users", "notifications", "announcement_reads"))
    ids: dict[str, int] = {}

    def user(name: str, day: int) -> None:
        ids[name] = conn.execute(users.insert().returning(users.c.id), {
            "username": name, "email": f"{name}@example.com", "password_hash": "x",
            "is_admin": False, "created_at": at(day)}).scalar_one()

    def note(name: str, day: int, owner: str | None = None, read: bool = False) -> None:
        ids[name] = conn.execute(notes.insert().returning(notes.c.id), {
            "user_id": ids[owner] if owner else None, "kind": "announcement" if not owner
            else "workout_completed", "title": name, "message": name, "data": {},
            "created_at": at(day), "read_at": at(day) if read else None}).scalar_one()

    def read(owner: str, name: str) -> None:
        conn.execute(reads.insert(), {"notification_id": ids[name], "user_id": ids[owner],
                                      "read_at": at(9)})

    user("ann", 0)
    user("cy", 0)
    note("news1", 1)
    user("bea", 2)
    note("ann_done", 3, "ann", read=True)
    note("ann_new", 3, "ann")
    note("news2", 4)
    note("bea_done", 5, "bea", read=True)
    note("news3", 6)
    read("ann", "news1")
    read("ann", "news3")
    read("bea", "news2")
    for name in ("news1", "news2", "news3"):  # cy pressed the old "mark all read"
        read("cy", name)
    return ids


def test_existing_read_state_survives_the_migration(database):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database})
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            ids = _seed_old_schema(conn)
        upgrade()
        ann, bea, cy = (db.session.get(User, ids[n]) for n in ("ann", "bea", "cy"))
        everything = set(ids.values())

        assert unread_count(ann.id) == 2
        assert unread_among(ann, everything) == {ids["ann_new"], ids["news2"]}
        assert unread_count(bea.id) == 1
        assert unread_among(bea, everything) == {ids["news3"]}
        assert [n.title for n in inbox.list_after(bea, 0, 10)] == ["news2", "bea_done", "news3"]
        assert unread_count(cy.id) == 0 and unread_among(cy, everything) == set()
        rows = db.session.execute(sa.text("SELECT user_id FROM announcement_reads")).scalars()
        assert ids["cy"] not in set(rows)  # folded into cy's watermark

        read_marks.mark_read(ann, ids["news2"])
        assert unread_count(ann.id) == 1
        read_marks.mark_all_read(db.session.get(User, ids["ann"]))
        assert unread_count(ann.id) == 0
        assert unread_among(db.session.get(User, ids["ann"]), everything) == set()
        db.session.remove()
        db.engine.dispose()


def test_goals_set_before_the_goal_count_still_count_after_it(database):
    """users.goal_count is filled from the goals table: an old goal is still met."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database})
    with app.app_context():
        upgrade(revision="c5d2e8f1a9b0")
        with db.engine.begin() as conn:
            meta = sa.MetaData()
            meta.reflect(conn, only=["users", "goals"])
            users, goals = meta.tables["users"], meta.tables["goals"]
            ids = {name: conn.execute(users.insert().returning(users.c.id), {
                "username": name, "email": f"{name}@example.com", "password_hash": "x",
                "is_admin": False, "created_at": T0}).scalar_one() for name in ("gus", "nan")}
            conn.execute(goals.insert(), [
                {"user_id": ids["gus"], "kind": "workouts", "target": 1, "period": "week",
                 "created_at": T0},
                {"user_id": ids["gus"], "kind": "distance_km", "target": 500, "period": "month",
                 "created_at": T0},
            ])
        upgrade()
        assert db.session.get(User, ids["gus"]).goal_count == 2
        assert db.session.get(User, ids["nan"]).goal_count == 0

        done = WorkoutInput("Run", "run", 30, 5.0, datetime.now(UTC).date())
        for name in ("gus", "nan"):
            workouts.log_workout(ids[name], done, completed=True)
        kinds = {name: {n.kind for n in inbox.list_after(db.session.get(User, ids[name]), 0, 10)}
                 for name in ("gus", "nan")}
        assert "goal_achieved" in kinds["gus"]
        assert "goal_achieved" not in kinds["nan"]
        db.session.remove()
        db.engine.dispose()


STREAKS_BEFORE = "d7e1f3a5b9c2"


def test_streaks_are_backfilled_from_completed_workouts(database):
    """Upgraded users read their real streak at once, as the app would derive it.

    More users than one batch of the migration, and a run longer than one of
    its windows, so every loop of the backfill runs.
    """
    today = date.today()
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database,
                                 "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade(revision=STREAKS_BEFORE)
        with db.engine.begin() as conn:
            ids = _seed_workout_history(conn, today)
        upgrade()

        kept = db.session.get(Streak, ids["kept"])
        assert (kept.since, kept.last_day, kept.notified) == (today, today, 0)
        assert db.session.get(Streak, ids["idle"]) is None
        assert db.session.get(Streak, ids["planner"]) is None
        expected = {"runner": 70, "lapsed": 0, "gap": 1, "six": 6}
        assert {name: streaks.current_length(ids[name], today) for name in expected} == expected
        fillers = [i for name, i in ids.items() if name.startswith("filler")]
        assert {streaks.current_length(i, today) for i in fillers} == {1}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Streak)) == 5 + 450

        # Each row is what streaks.rebuild derives from the workouts alone.
        for name in ("runner", "lapsed", "gap", "six", "filler0", "filler449"):
            row = db.session.get(Streak, ids[name])
            backfilled = (row.since, row.last_day, row.notified)
            db.session.delete(row)
            db.session.flush()
            run = streaks.rebuild(ids[name])
            rebuilt = db.session.get(Streak, ids[name])
            assert (run.since, run.last_day, rebuilt.notified) == backfilled, name
            db.session.rollback()
        assert db.session.get(Streak, ids["lapsed"]).last_day == today - timedelta(days=10)
        db.session.remove()

    client = app.test_client()
    for name, shown in (("runner", "70 days"), ("lapsed", "0 days"), ("six", "6 days")):
        AuthActions(client).login(f"{name}@example.com", "password1")
        assert f"Current streak: <strong>{shown}</strong>" in client.get("/").data.decode()
        AuthActions(client).logout()

    # The next completion goes on from the backfilled run: 7 days is news, 71 is not.
    for name in ("six", "runner"):
        AuthActions(client).login(f"{name}@example.com", "password1")
        log_workout(client, performed_on=today.isoformat())
        AuthActions(client).logout()
    with app.app_context():
        announced = db.session.execute(
            sa.select(Notification.user_id, Notification.data).where(Notification.kind == "streak")
        ).all()
        assert announced == [(ids["six"], {"days": 7, "since": (today - timedelta(days=6))
                                           .isoformat()})]
        assert streaks.current_length(ids["runner"], today) == 71
        db.session.remove()
        db.engine.dispose()


def _seed_workout_history(conn: sa.Connection, today: date) -> dict[str, int]:
    """Users and workouts as they stood before the backfill: one streak row, kept by the app."""
    meta = sa.MetaData()
    meta.reflect(conn, only=["users", "workouts", "streaks"])
    users, workout_rows, streak_rows = (meta.tables[n] for n in ("users", "workouts", "streaks"))
    password = generate_password_hash("password1", method="pbkdf2:sha256:1")
    names = ["runner", "lapsed", "gap", "six", "kept", "idle", "planner"]
    names += [f"filler{i}" for i in range(450)]
    conn.execute(users.insert(), [
        {"username": name, "email": f"{name}@example.com", "password_hash": password,
         "is_admin": False, "created_at": T0} for name in names])
    ids = dict(conn.execute(sa.select(users.c.username, users.c.id)).all())

    def worked(name: str, *days_ago: int, completed: bool = True) -> list[dict]:
        return [{"user_id": ids[name], "title": "W", "activity": "run", "duration_minutes": 30,
                 "distance_km": None, "performed_on": today - timedelta(days=ago),
                 "completed_at": T0 if completed else None, "created_at": T0}
                for ago in days_ago]

    rows = worked("runner", *range(1, 71), 5, 40)  # 70 days to yesterday, two on some days
    rows += worked("runner", 0, completed=False) + worked("runner", 72, 75)
    rows += worked("lapsed", *range(10, 15), 16, 17)  # ended 10 days ago
    rows += worked("gap", 0, 2, 3) + worked("gap", 1, completed=False)
    rows += worked("six", *range(1, 7))
    rows += worked("kept", 0, 1, 2)
    rows += worked("planner", 0, 1, completed=False)
    for i in range(450):
        rows += worked(f"filler{i}", 0 if i % 2 else 1, 3)
    conn.execute(workout_rows.insert(), rows)
    # The app wrote kept's row after the upgrade; the backfill must leave it as it is.
    conn.execute(streak_rows.insert(), {"user_id": ids["kept"], "since": today,
                                        "last_day": today, "notified": 0})
    return ids
