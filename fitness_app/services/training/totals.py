"""All-time totals of each user's completed workouts, kept as one counter row.

An all-time goal then reads one row instead of adding up years of workouts.
The counters are kept while the user has an all-time goal (`goals` decides):
counted once when such a goal is set, added to by each completion in its
transaction, and counted again on the rare edit or deletion of a completed
workout.
"""

from __future__ import annotations

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import Workout, WorkoutTotals
from fitness_app.services.sql import insert_ignoring_duplicates, lock_user
from fitness_app.services.training.goal_rules import Totals


def read(user_id: int) -> Totals:
    row = db.session.execute(
        sa.select(WorkoutTotals.workouts, WorkoutTotals.duration_minutes,
                  WorkoutTotals.distance_km).where(WorkoutTotals.user_id == user_id)
    ).first()
    return Totals(row[0], float(row[1]), float(row[2])) if row else Totals()


def add(workout: Workout) -> None:
    """Count a workout completed in the current transaction."""
    lock_user(workout.user_id)
    insert_ignoring_duplicates(
        WorkoutTotals,
        {"user_id": workout.user_id, "workouts": 0, "duration_minutes": 0, "distance_km": 0.0},
    )
    db.session.execute(
        sa.update(WorkoutTotals)
        .where(WorkoutTotals.user_id == workout.user_id)
        .values(
            workouts=WorkoutTotals.workouts + 1,
            duration_minutes=WorkoutTotals.duration_minutes + workout.duration_minutes,
            distance_km=WorkoutTotals.distance_km + (workout.distance_km or 0.0),
        )
        .execution_options(synchronize_session=False)
    )


def recount(user_id: int) -> None:
    """Count again after an edit or a deletion changed figures already counted."""
    lock_user(user_id)
    count, minutes, km = db.session.execute(
        sa.select(
            sa.func.count(Workout.id),
            sa.func.coalesce(sa.func.sum(Workout.duration_minutes), 0),
            sa.func.coalesce(sa.func.sum(Workout.distance_km), 0.0),
        ).where(Workout.user_id == user_id, Workout.completed_at.is_not(None))
    ).one()
    insert_ignoring_duplicates(
        WorkoutTotals,
        {"user_id": user_id, "workouts": 0, "duration_minutes": 0, "distance_km": 0.0},
    )
    db.session.execute(
        sa.update(WorkoutTotals)
        .where(WorkoutTotals.user_id == user_id)
        .values(workouts=count, duration_minutes=minutes, distance_km=km)
        .execution_options(synchronize_session=False)
    )
