"""Goal nudges: once a day, the week and month goals not yet achieved, with what is left.

Read for a whole batch of users at once: one query for their goals, and one
aggregate per period and calendar day over the (user_id, performed_on)
index, grouped by user; stored at once too (`store.notify_many`). Users
without goals (`users.goal_count` 0) cost nothing, and a user whose goals are
all achieved gets no notification.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import Goal, Workout
from fitness_app.services import preferences, timezones, units
from fitness_app.services.notifications import store
from fitness_app.services.schedule.batch import Claimed, Work, paced
from fitness_app.services.training import goal_rules

if TYPE_CHECKING:
    from fitness_app.services.schedule.plan import Person

PERIODS = ("week", "month")
#: The goal kinds a nudge speaks of, with the unit of `left` (distances: the user's own).
UNITS = {"workouts": "workouts", "distance_km": None, "duration_minutes": "minutes"}


def run(items: list[Claimed], users: dict[int, Person], now: datetime) -> Work:
    """A nudge for each claimed user who has a week or month goal still open."""
    nudged = [users[item.user_id] for item in items
              if item.user_id in users and users[item.user_id].goal_count > 0]
    goals = _goals(user.id for user in nudged)
    by_day: dict[date, list[Person]] = defaultdict(list)
    for user in nudged:
        if goals.get(user.id):
            by_day[timezones.local_today(user.timezone, now)].append(user)
    drafts: list[store.Draft] = []
    for today, group in by_day.items():
        # Only the periods someone in the group has a goal for: one aggregate each.
        periods = {goal.period for user in group for goal in goals[user.id]}
        totals = {period: period_totals([u.id for u in group], period, today)
                  for period in PERIODS if period in periods}
        for user in paced(group):
            unit = units.of(user)
            open_goals = [
                entry for goal in goals[user.id]
                if (entry := _open(goal, totals[goal.period].get(user.id), today, unit))
            ]
            if open_goals:
                title, message = wording(open_goals, unit)
                drafts.append(store.Draft(
                    user.id, "goal_nudge", title, message,
                    {"goals": [entry["data"] for entry in open_goals]},
                    silent=preferences.is_silent(user, "goal_nudge", now)))
    return Work(drafts)


def _goals(user_ids: Iterable[int]) -> dict[int, list[sa.Row[Any]]]:
    """Their week and month goals, as plain rows (id, user_id, kind, target, period)."""
    ids = list(user_ids)
    found: dict[int, list[sa.Row[Any]]] = defaultdict(list)
    if not ids:
        return found
    for goal in db.session.execute(
        sa.select(Goal.id, Goal.user_id, Goal.kind, Goal.target, Goal.period)
        .where(Goal.user_id.in_(ids), Goal.period.in_(PERIODS), Goal.kind.in_(UNITS))
        .order_by(Goal.user_id, Goal.id)
    ):
        found[goal.user_id].append(goal)
    return found


def period_totals(user_ids: list[int], period: str, today: date) -> dict[int, goal_rules.Totals]:
    """The completed workouts of the period holding `today`, per user, in one query."""
    start, end = goal_rules.period_bounds(period, today)
    rows = db.session.execute(
        sa.select(
            Workout.user_id,
            sa.func.count(Workout.id),
            sa.func.coalesce(sa.func.sum(Workout.duration_minutes), 0),
            sa.func.coalesce(sa.func.sum(Workout.distance_km), 0.0),
        )
        .where(
            Workout.user_id.in_(user_ids),
            Workout.performed_on >= start,
            Workout.performed_on < end,
            Workout.completed_at.is_not(None),
        )
        .group_by(Workout.user_id)
    )
    return {uid: goal_rules.Totals(count, float(minutes), float(km))
            for uid, count, minutes, km in rows}


def _open(
    goal: sa.Row[Any], totals: goal_rules.Totals | None, today: date, unit: str
) -> dict[str, Any] | None:
    """What is left of a goal in its current period, or None when it is achieved.

    A distance left is given in the user's unit (`km` or `mi`), as their goals are.
    """
    left = goal.target - goal_rules.amount(goal.kind, totals or goal_rules.Totals())
    if left <= 0:
        return None
    _, end = goal_rules.period_bounds(goal.period, today)
    return {
        "goal": goal,
        "data": {"goal_id": goal.id,
                 "left": round(goal_rules.shown(goal.kind, left, unit), 2),
                 "unit": UNITS[goal.kind] or units.symbol(unit),
                 "days_left": (end - today).days},
    }


def _left_phrase(entry: dict[str, Any]) -> str:
    data = entry["data"]
    unit = data["unit"]
    if unit == "workouts" and data["left"] == 1:
        unit = "workout"
    days = data["days_left"]
    when = "today is the last day" if days == 1 else f"{days} days to go"
    return f"{goal_rules.format_number(data['left'])} {unit} left, {when}"


def wording(open_goals: list[dict[str, Any]], unit: str) -> tuple[str, str]:
    """The title and message: the one goal in the title, or how many are open."""
    lines = [
        f"{goal_rules.describe(e['goal'].kind, e['goal'].period, e['goal'].target, unit)}: "
        f"{_left_phrase(e)}"
        for e in open_goals
    ]
    if len(open_goals) == 1:
        goal = open_goals[0]["goal"]
        title = f"Your goal for {goal_rules.PERIOD_PHRASES[goal.period]}"
    else:
        title = f"{len(open_goals)} goals within reach"
    return title, "; ".join(lines) + ". You can do it!"
