"""Goals: listens for completed or changed workouts and records what was achieved.

The arithmetic lives in `goal_rules`; this module reads only the period a goal
concerns: one aggregate over the (user_id, performed_on) index for a week or
a month, the stored totals for all time, the stored streak for streaks. It
takes the per-user lock that makes concurrent completions see each other, and
writes achievements whose unique (goal, period) key lets each happen at most
once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask

from fitness_app.extensions import db
from fitness_app.models import Achievement, Goal, User, Workout
from fitness_app.services import preferences, units
from fitness_app.services.notifications import store
from fitness_app.services.notifications.delivery import delivery
from fitness_app.services.sql import insert_ignoring_duplicates, lock_user
from fitness_app.services.training import goal_rules, streaks, totals
from fitness_app.signals import workout_changed, workout_completed, workout_deleted


@dataclass(frozen=True)
class GoalProgress:
    goal: Goal
    value: float
    description: str
    #: The owner's units: `value` and the goal's target are in km for distance goals.
    unit: str = units.METRIC

    @property
    def shown_value(self) -> float:
        return goal_rules.shown(self.goal.kind, self.value, self.unit)

    @property
    def shown_target(self) -> float:
        return goal_rules.shown(self.goal.kind, self.goal.target, self.unit)

    @property
    def unit_word(self) -> str:
        return goal_rules.unit_word(self.goal.kind, self.shown_target, self.unit)

    @property
    def percent(self) -> int:
        return min(100, int(100 * self.value / self.goal.target)) if self.goal.target else 100


@functools.cache
def _totals_statement() -> sa.Select[Any]:
    """The period aggregate, built once per process (construction costs more than running it).

    A range scan of the (user_id, performed_on) index, over one week or month.
    """
    return sa.select(
        sa.func.count(Workout.id),
        sa.func.coalesce(sa.func.sum(Workout.duration_minutes), 0),
        sa.func.coalesce(sa.func.sum(Workout.distance_km), 0.0),
    ).where(
        Workout.user_id == sa.bindparam("user_id"),
        Workout.performed_on >= sa.bindparam("start", type_=sa.Date),
        Workout.performed_on < sa.bindparam("end", type_=sa.Date),
        Workout.completed_at.is_not(None),
    )


def period_totals(user_id: int, period: str, day: date) -> goal_rules.Totals:
    """The completed workouts of the period holding `day`; all time is a stored counter."""
    start, end = goal_rules.period_bounds(period, day)
    if start is None:
        return totals.read(user_id)
    params = {"user_id": user_id, "start": start, "end": end}
    count, minutes, km = db.session.execute(_totals_statement(), params).one()
    return goal_rules.Totals(count, float(minutes), float(km))


def _measure(
    user_id: int, goals: list[Goal], day: date, run: streaks.Run | None
) -> list[tuple[Goal, float, str | None]]:
    """Each goal's value in the period holding `day`, with that period's key.

    One aggregate per distinct period, whatever the number of goals.
    """
    by_period: dict[str, goal_rules.Totals] = {}
    measured = []
    for goal in goals:
        if goal.kind == "streak_days":
            inside = run is not None and run.since <= day <= run.last_day
            measured.append((goal, float(run.days) if inside else 0.0,
                             goal_rules.streak_key(run.since) if inside else None))
            continue
        if goal.period not in by_period:
            by_period[goal.period] = period_totals(user_id, goal.period, day)
        measured.append((goal, goal_rules.amount(goal.kind, by_period[goal.period]),
                         goal_rules.period_key(goal.period, day)))
    return measured


@functools.cache
def _goals_of() -> sa.Select[Any]:
    """Built once per process: every completed workout runs it."""
    return sa.select(Goal).where(Goal.user_id == sa.bindparam("user_id")).order_by(Goal.id)


def user_goals(user_id: int) -> list[Goal]:
    """The user's goals, without a query when the users row says there are none.

    The row is the request's signed-in user, already in the session. A goal
    created concurrently is counted by its own request, which evaluates the
    workouts after taking the user lock a completion holds.
    """
    user = db.session.get(User, user_id)
    if user is not None and not user.goal_count:
        return []
    return list(db.session.scalars(_goals_of(), {"user_id": user_id}))


def evaluate(user_id: int, day: date, goals: list[Goal] | None = None) -> list[Goal]:
    """Record and announce every goal met in the period holding `day`; return them.

    Runs inside the caller's transaction, after the streak has moved; the
    caller commits.
    """
    goals = user_goals(user_id) if goals is None else goals
    if not goals:
        return []
    lock_user(user_id)
    unit = units.of(db.session.get(User, user_id))
    achieved = []
    for goal, value, key in _measure(user_id, goals, day, streaks.current(user_id)):
        if key is None or value < goal.target:
            continue
        if insert_ignoring_duplicates(Achievement, {"goal_id": goal.id, "period_key": key}):
            achieved.append(goal)
            text = goal_rules.describe(goal.kind, goal.period, goal.target, unit)
            store.notify(
                user_id,
                "goal_achieved",
                "Goal achieved",
                text,
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
        _recount_goals(user_id)
        _count_logged(goal)
    return goal


def update_goal(goal: Goal, kind: str, target: float, period: str) -> None:
    """Change a goal; if the workouts already logged now meet it, that is announced."""
    goal.kind = kind
    goal.target = target
    goal.period = "all_time" if kind == "streak_days" else period
    with delivery():
        _count_logged(goal)


def _count_logged(goal: Goal) -> None:
    """Count the workouts already logged towards a new or changed goal."""
    db.session.flush()
    if _counts_all_time([goal]):
        totals.recount(goal.user_id)
    today = preferences.user_today(db.session.get(User, goal.user_id))
    evaluate(goal.user_id, today, [goal])
    if goal.kind == "streak_days":
        # A streak that ended yesterday is still alive today.
        evaluate(goal.user_id, today - timedelta(days=1), [goal])


def delete_goal(goal: Goal) -> None:
    db.session.delete(goal)
    db.session.flush()
    _recount_goals(goal.user_id)
    db.session.commit()


def _recount_goals(user_id: int) -> None:
    """Store how many goals the user has, counted afresh (a handful of rows).

    The user lock comes first, as in every transaction that notifies: a
    completion holding it may still update the users row.
    """
    lock_user(user_id)
    user = db.session.get(User, user_id)
    # A SQL expression: the flush runs it, and the attribute is read afresh after.
    user.goal_count = (
        sa.select(sa.func.count(Goal.id)).where(Goal.user_id == user_id).scalar_subquery()
    )
    db.session.flush()


def progress_for(user_id: int, today: date | None = None) -> list[GoalProgress]:
    """Each goal's progress today (the user's today): periods read through the index."""
    goals = user_goals(user_id)
    if not goals:
        return []
    user = db.session.get(User, user_id)
    today = today or preferences.user_today(user)
    unit = units.of(user)
    run = streaks.current(user_id)
    streak = float(run.length_on(today)) if run else 0.0
    progress = []
    for goal, value, _ in _measure(user_id, goals, today, run):
        if goal.kind == "streak_days":
            value = streak
        progress.append(GoalProgress(
            goal, value, goal_rules.describe(goal.kind, goal.period, goal.target, unit), unit
        ))
    return progress


def history_added(user_id: int) -> None:
    """After an import added past workouts: the streak, the totals and this period's goals.

    Inside the caller's `delivery()`. Once per import, not per workout: a
    streak milestone or a goal the history now meets is announced once.
    """
    goals = user_goals(user_id)
    if _counts_all_time(goals):
        totals.recount(user_id)
    streaks.rebuild(user_id)
    evaluate(user_id, preferences.user_today(db.session.get(User, user_id)), goals)


def _counts_all_time(goals: list[Goal]) -> bool:
    """Whether the stored totals are in use: they are kept only while an all-time
    goal needs them, and counted afresh when one is set (`create_goal`)."""
    return any(g.period == "all_time" and g.kind != "streak_days" for g in goals)


def _on_workout(sender: Workout, workout: Workout, **_: object) -> None:
    goals = user_goals(workout.user_id)
    if _counts_all_time(goals):
        totals.add(workout)
    streaks.completed_on(workout.user_id, workout.performed_on)
    evaluate(workout.user_id, workout.performed_on, goals)


def _on_change(sender: Workout, workout: Workout, **_: object) -> None:
    goals = user_goals(workout.user_id)
    if _counts_all_time(goals):
        totals.recount(workout.user_id)
    streaks.rebuild(workout.user_id)
    evaluate(workout.user_id, workout.performed_on, goals)


def _on_delete(sender: Workout, workout: Workout, **_: object) -> None:
    if _counts_all_time(user_goals(workout.user_id)):
        totals.recount(workout.user_id)
    streaks.rebuild(workout.user_id)


def init_app(app: Flask) -> None:
    """Listen for workouts; connect once even when tests build many apps."""
    workout_completed.connect(_on_workout)
    workout_changed.connect(_on_change)
    workout_deleted.connect(_on_delete)
