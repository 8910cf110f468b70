"""Personal records: the best distance and duration per activity, kept as rows.

A completion compares the workout with at most two stored bests instead of
rescanning history. The per-user lock taken before the read makes racing
completions see each other, so each record is announced exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import Flask

from fitness_app.extensions import db
from fitness_app.models import PersonalRecord, Workout
from fitness_app.services import notifications
from fitness_app.services.goal_rules import format_number
from fitness_app.services.sql import lock_user
from fitness_app.signals import workout_completed

#: The measures a record is kept for, in the order a new record is announced.
MEASURES = {"distance_km": ("km", "km"), "duration_minutes": ("minute", "minutes")}
NOUNS = {"strength": "strength session", "yoga": "yoga session", "other": "workout"}


@dataclass(frozen=True)
class NewRecord:
    activity: str
    record: str
    value: float
    previous: float

    def message(self) -> str:
        """`Longest ride yet: 82 km, 12 km more than before`."""
        noun = NOUNS.get(self.activity, self.activity)
        return (
            f"Longest {noun} yet: {_amount(self.record, self.value)}, "
            f"{_amount(self.record, self.value - self.previous)} more than before"
        )

    def data(self) -> dict[str, object]:
        return {"activity": self.activity, "record": self.record, "value": self.value,
                "previous": self.previous}


def _amount(record: str, value: float) -> str:
    singular, plural = MEASURES[record]
    return f"{format_number(value)} {singular if value == 1 else plural}"


def beats(value: float | None, best: float | None) -> bool:
    """A new best: a real value above the stored one (the first one is not announced)."""
    return bool(value) and best is not None and value > best


def user_records(user_id: int) -> list[PersonalRecord]:
    return list(
        db.session.scalars(
            sa.select(PersonalRecord)
            .where(PersonalRecord.user_id == user_id)
            .order_by(PersonalRecord.activity, PersonalRecord.record)
        )
    )


def check(workout: Workout) -> NewRecord | None:
    """Keep the bests up to date with a completed workout; announce one new record.

    When a workout beats both distance and duration, both are kept and the
    distance is announced: one popup per workout.
    """
    lock_user(workout.user_id)
    stored = {
        row.record: row
        for row in db.session.scalars(
            sa.select(PersonalRecord)
            .where(PersonalRecord.user_id == workout.user_id,
                   PersonalRecord.activity == workout.activity)
            .execution_options(populate_existing=True)
        )
    }
    news = []
    for record in MEASURES:
        value = getattr(workout, record)
        if not value:
            continue
        row = stored.get(record)
        if row is None:
            db.session.add(PersonalRecord(
                user_id=workout.user_id, activity=workout.activity, record=record,
                value=value, performed_on=workout.performed_on,
            ))
        elif beats(value, row.value):
            news.append(NewRecord(workout.activity, record, float(value), row.value))
            row.value, row.performed_on = value, workout.performed_on
    if not news:
        return None
    new = news[0]
    notifications.notify(workout.user_id, "personal_record", "Personal record",
                         new.message(), new.data())
    return new


def _on_completed(sender: Workout, workout: Workout, **_: object) -> None:
    check(workout)


def init_app(app: Flask) -> None:
    """Listen for completions; connect once even when tests build many apps."""
    workout_completed.connect(_on_completed)
