"""Ids only grow: a deleted row's id never comes back, on SQLite as on PostgreSQL.

Clients de-duplicate notifications by id and replay from `last_id`, and a
notification names its workout by id: a reused id would hide a new notification
or send an old one to someone else's workout.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask_migrate import upgrade

from fitness_app import create_app
from fitness_app.extensions import db
from fitness_app.models import Notification, Workout
from tests.conftest import AuthActions, log_workout, signed_in_client

BEFORE = "e8b4c2d6f1a7"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _notifications(client) -> list[dict]:
    return client.get("/api/notifications?after=0").get_json()["notifications"]


def test_a_deleted_newest_workout_or_notification_never_lends_its_id(app):
    ann = signed_in_client(app, "ann")
    log_workout(ann, title="Gone soon")
    done, = _notifications(ann)
    assert done["url"].startswith("/workouts/")
    gone_workout = int(done["url"].rsplit("/", 1)[1])
    ann.post(f"/workouts/{gone_workout}/delete")

    bea = signed_in_client(app, "bea")
    log_workout(bea, title="Bea's run", visibility="public")
    bea_done, = _notifications(bea)
    bea.post("/settings/delete", data={"password": "password1"})

    cyd = signed_in_client(app, "cyd")
    log_workout(cyd, title="Cyd's ride", visibility="public")
    cyd_done, = _notifications(cyd)
    assert int(cyd_done["url"].rsplit("/", 1)[1]) > int(bea_done["url"].rsplit("/", 1)[1])
    assert cyd_done["id"] > bea_done["id"]
    # Ann's old notification still says its workout is gone, not Cyd's ride.
    assert [n["url"] for n in _notifications(ann)] == ["/workouts/"]


def _seed(conn: sa.Connection) -> dict[str, int]:
    """Users, workouts and every kind of row that points at them, as they stood before."""
    meta = sa.MetaData()
    meta.reflect(conn)
    t = meta.tables

    def insert(table: str, **values: object) -> int:
        result = conn.execute(t[table].insert().values(**values))
        return result.inserted_primary_key[0]

    ann = insert("users", username="ann", email="ann@example.com", password_hash="x",
                 is_admin=False, created_at=T0)
    login = insert("logins", user_id=ann, token_hash="a" * 64, created_at=T0)
    insert("push_devices", id="d" * 32, user_id=ann, login_id=login,
           endpoint="https://fcm.googleapis.com/fcm/send/x", p256dh="k", auth="a",
           browser="Firefox", created_at=T0)
    workouts = [insert("workouts", user_id=ann, title=f"W{n}", activity="run",
                       duration_minutes=30, performed_on=T0.date(), created_at=T0)
                for n in range(3)]
    insert("workout_tracks", workout_id=workouts[-1], user_id=ann, started_at=T0,
           duration_seconds=1800.0, route="", points=0)
    insert("due_items", kind="reminder", user_id=ann, workout_id=workouts[-1], due_at=T0)
    job = insert("imports", user_id=ann, filename="a.gpx", status="done", total=1, done=1,
                 added=1, skipped=0, refused=0, created_at=T0, heartbeat_at=T0)
    insert("import_entries", import_id=job, position=0, name="a.gpx", outcome="added",
           workout_id=workouts[-1])
    goal = insert("goals", user_id=ann, kind="workouts", target=1, period="week",
                  created_at=T0)
    insert("achievements", goal_id=goal, period_key="2026-W01", achieved_at=T0)
    notes = [insert("notifications", user_id=ann, kind="workout_completed", title="t",
                    message="m", data={"workout_id": w}, created_at=T0) for w in workouts]
    return {"workout": workouts[-1], "notification": notes[-1], "user": ann}


def _counts(conn: sa.Connection) -> dict[str, int]:
    names = sa.inspect(conn).get_table_names()
    return {name: conn.scalar(sa.select(sa.func.count()).select_from(sa.table(name)))
            for name in names if name != "alembic_version"}


def test_the_upgrade_keeps_every_row_and_ids_go_on_above_the_old_highest(database):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database})
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            newest = _seed(conn)
            before = _counts(conn)
        upgrade()
        with db.engine.connect() as conn:
            # Tables that later migrations add start empty and are not compared.
            assert {name: n for name, n in _counts(conn).items() if name in before} == before
            entry_workout = conn.scalar(sa.text("SELECT workout_id FROM import_entries"))
            assert entry_workout == newest["workout"]
            if conn.dialect.name == "sqlite":  # the migration turned it back on
                assert conn.scalar(sa.text("PRAGMA foreign_keys")) == 1

        for model, key in ((Workout, "workout"), (Notification, "notification")):
            db.session.delete(db.session.get(model, newest[key]))
            db.session.commit()
        again = Workout(user_id=newest["user"], title="Next", activity="run",
                        duration_minutes=20, performed_on=T0.date())
        note = Notification(user_id=newest["user"], kind="workout_completed", title="t",
                            message="m", data={})
        db.session.add_all([again, note])
        db.session.commit()
        assert again.id > newest["workout"]
        assert note.id > newest["notification"]
        db.session.remove()
        db.engine.dispose()


def test_a_fresh_user_signs_in_after_the_upgrade(database):
    """The rebuilt users and logins tables still take a sign-up and a sign-in."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database,
                                 "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade()
    client = app.test_client()
    AuthActions(client).register()
    assert client.get("/api/notifications").status_code == 200
    with app.app_context():
        db.engine.dispose()


def test_every_integer_id_table_grows_on_sqlite_after_the_migrations(tmp_path):
    """A table added later (model and migration) keeps ids that never come back too."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'ids.db'}"})
    with app.app_context():
        upgrade()
        integer_ids = sorted(
            table.name for table in db.metadata.sorted_tables
            if [c.name for c in table.primary_key] == ["id"]
            and isinstance(table.c.id.type, sa.Integer))
        assert {name for name in integer_ids
                if not db.metadata.tables[name].dialect_options["sqlite"]["autoincrement"]
                } == set(), "add models.GROWING_IDS to these tables"
        with db.engine.connect() as conn:
            created = dict(conn.execute(sa.text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all())
        assert [name for name in integer_ids if "AUTOINCREMENT" not in created[name]] == [], (
            "their migration must create them with sqlite_autoincrement=True")
        db.engine.dispose()
