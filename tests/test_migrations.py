"""The checked-in migrations build exactly the schema the models describe."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from fitness_app import create_app
from fitness_app.extensions import db
from fitness_app.services.training import records, totals
from fitness_app.services.training.goal_rules import Totals


def test_migrations_match_models(database):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations disagree; run `flask db migrate`: {diff}"
        downgrade(revision="base")
        upgrade()
        db.engine.dispose()


def test_upgrade_counts_existing_workouts_into_totals_and_records(database):
    """A database with history gets its all-time totals and bests from the upgrade."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database})
    with app.app_context():
        upgrade(revision="dceabc8f6139")
        rows = [("ride", 40.0, 90, True), ("ride", 82.0, 150, True), ("ride", 120.0, 300, False),
                ("run", None, 45, True)]
        with db.engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO users (id, username, email, password_hash, is_admin, created_at)"
                " VALUES (1, 'ann', 'ann@example.com', 'x', false, CURRENT_TIMESTAMP)"))
            for number, (activity, km, minutes, completed) in enumerate(rows, 1):
                connection.execute(sa.text(
                    "INSERT INTO workouts (id, user_id, title, activity, duration_minutes,"
                    " distance_km, performed_on, completed_at, created_at) VALUES (:id, 1, 'W',"
                    " :activity, :minutes, :km, :day, :done, CURRENT_TIMESTAMP)"),
                    {"id": number, "activity": activity, "minutes": minutes, "km": km,
                     "day": f"2026-11-{number:02d}",
                     "done": "2026-11-26 10:00:00" if completed else None})
        upgrade()
        assert totals.read(1) == Totals(3, 285.0, 122.0)
        bests = {(r.activity, r.record): (r.value, r.workout_id) for r in records.user_records(1)}
        assert bests == {("ride", "distance_km"): (82.0, 2), ("ride", "duration_minutes"): (150, 2),
                         ("run", "duration_minutes"): (45, 4)}
        db.session.remove()
        db.engine.dispose()
