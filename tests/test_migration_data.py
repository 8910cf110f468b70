"""Migrations carry existing data over: read state, and the goals each user has."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask_migrate import upgrade

from fitness_app import create_app
from fitness_app.extensions import db
from fitness_app.models import User
from fitness_app.services.notifications import inbox, read_marks
from fitness_app.services.notifications.unread_counts import unread_among, unread_count
from fitness_app.services.training import workouts
from fitness_app.services.training.workouts import WorkoutInput

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
