"""Goals: listens for completed or changed workouts and records what was achieved.

The arithmetic lives in `goal_rules`; this module loads the facts, takes the
per-user lock that makes concurrent completions see each other, and writes
achievements whose unique (goal, period) key lets each happen at most once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import Flask

from fitness_app.extensions import db
from fitness_app.models import Achievement, Goal, Workout
from fitness_app.services import goal_rules, notifications
from fitness_app.services.delivery import delivery
from fitness_app.services.sql import insert_ignoring_duplicates, lock_user
from fitness_app.signals import workout_changed, workout_completed


@dataclass(frozen=True)
class GoalProgress:
    goal: Goal
    value: float
    description: str

    @property
    def percent(self) -> int:
        return min(100, int(100 * self.value / self.goal.target)) if self.goal.target else 100


def completed_facts(user_id: int) -> list[goal_rules.Fact]:
    rows = db.session.execute(
        sa.select(Workout.performed_on, Workout.duration_minutes, Workout.distance_km).where(
            Workout.user_id == user_id, Workout.completed_at.is_not(None)
        )
    )
    return [goal_rules.Fact(day, minutes, km or 0.0) for day, minutes, km in rows]


def user_goals(user_id: int) -> list[Goal]:
    query = sa.select(Goal).where(Goal.user_id == user_id).order_by(Goal.id)
    return list(db.session.scalars(query))


def evaluate(user_id: int, day: date, goals: list[Goal] | None = None) -> list[Goal]:
    """Record and announce every goal met in the period holding `day`; return them.

    Runs inside the caller's transaction; the caller commits.
    """
    goals = user_goals(user_id) if goals is None else goals
    if not goals:
        return []
    lock_user(user_id)
    facts = completed_facts(user_id)
    achieved = []
    for goal in goals:
        key = goal_rules.achieved_key(goal.kind, goal.period, goal.target, facts, day)
        if key is None:
            continue
        if insert_ignoring_duplicates(Achievement, {"goal_id": goal.id, "period_key": key}):
            achieved.append(goal)
            text = goal_rules.describe(goal.kind, goal.period, goal.target)
            notifications.notify(
                user_id,
                "goal_achieved",
                "Goal achieved",
                f"Goal achieved: {text}",
                {"goal_id": goal.id, "period": key},
            )
    return achieved


def create_goal(user_id: int, kind: str, target: float, period: str) -> Goal:
    """Save a goal and count the workouts already logged towards it."""
    goal = Goal(
        user_id=user_id,
        kind=kind,
        target=target,
        period="all_time" if kind == "streak_days" else period,
    )
    with delivery():
        db.session.add(goal)
        db.session.flush()
        today = date.today()
        evaluate(user_id, today, [goal])
        if kind == "streak_days":
            # A streak that ended yesterday is still alive today.
            evaluate(user_id, today - timedelta(days=1), [goal])
    return goal


def delete_goal(goal: Goal) -> None:
    db.session.delete(goal)
    db.session.commit()


def progress_for(user_id: int, today: date | None = None) -> list[GoalProgress]:
    today = today or date.today()
    goals = user_goals(user_id)
    if not goals:
        return []
    facts = completed_facts(user_id)
    return [
        GoalProgress(
            goal,
            goal_rules.current_progress(goal.kind, goal.period, facts, today),
            goal_rules.describe(goal.kind, goal.period, goal.target),
        )
        for goal in goals
    ]


def _on_workout(sender: Workout, workout: Workout, **_: object) -> None:
    evaluate(workout.user_id, workout.performed_on)


def init_app(app: Flask) -> None:
    """Listen for workouts; connect once even when tests build many apps."""
    workout_completed.connect(_on_workout)
    workout_changed.connect(_on_workout)
