"""Weekly summaries: the last seven days against the seven before, in a sentence.

The seven days end with the user's today (their zone). One aggregate per
batch and calendar day covers both weeks of every user in it, split by a
CASE on the date and grouped by user; the batch is stored at once
(`store.notify_many`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import Workout
from fitness_app.services import preferences, timezones, units
from fitness_app.services.notifications import store
from fitness_app.services.schedule.batch import Claimed, Work, paced
from fitness_app.services.training.goal_rules import Totals

if TYPE_CHECKING:
    from fitness_app.services.schedule.plan import Person


def run(items: list[Claimed], users: dict[int, Person], now: datetime) -> Work:
    by_day: dict[date, list[Person]] = defaultdict(list)
    for item in items:
        if (user := users.get(item.user_id)) is not None:
            by_day[timezones.local_today(user.timezone, now)].append(user)
    drafts: list[store.Draft] = []
    for today, group in by_day.items():
        weeks = two_weeks([user.id for user in group], today)
        for user in paced(group):
            recent, previous = weeks.get(user.id, (Totals(), Totals()))
            title, message = wording(recent, previous, units.of(user))
            drafts.append(store.Draft(
                user.id, "weekly_summary", title, message, figures(recent, previous, today),
                silent=preferences.is_silent(user, "weekly_summary", now)))
    return Work(drafts)


def two_weeks(user_ids: list[int], today: date) -> dict[int, tuple[Totals, Totals]]:
    """(last seven days, the seven before) per user, in one grouped query."""
    since, middle, end = today - timedelta(days=13), today - timedelta(days=6), today
    recent = sa.case((Workout.performed_on >= middle, 1), else_=0).label("recent")
    rows = db.session.execute(
        sa.select(
            Workout.user_id,
            recent,
            sa.func.count(Workout.id),
            sa.func.coalesce(sa.func.sum(Workout.duration_minutes), 0),
            sa.func.coalesce(sa.func.sum(Workout.distance_km), 0.0),
        )
        .where(
            Workout.user_id.in_(user_ids),
            Workout.performed_on >= since,
            Workout.performed_on <= end,
            Workout.completed_at.is_not(None),
        )
        .group_by(Workout.user_id, recent)
    )
    found: dict[int, list[Totals]] = defaultdict(lambda: [Totals(), Totals()])
    for user_id, is_recent, count, minutes, km in rows:
        found[user_id][0 if is_recent else 1] = Totals(count, float(minutes), float(km))
    return {user_id: (pair[0], pair[1]) for user_id, pair in found.items()}


def figures(recent: Totals, previous: Totals, today: date) -> dict[str, Any]:
    """`data`: each figure with the previous week's, and the days they cover."""
    return {
        "workouts": {"value": recent.workouts, "previous": previous.workouts},
        "distance_km": {"value": round(recent.distance_km, 2),
                        "previous": round(previous.distance_km, 2)},
        "duration_minutes": {"value": int(recent.duration_minutes),
                             "previous": int(previous.duration_minutes)},
        "since": (today - timedelta(days=6)).isoformat(),
        "until": today.isoformat(),
    }


def _duration(minutes: float) -> str:
    hours, rest = divmod(int(minutes), 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def wording(recent: Totals, previous: Totals, unit: str = units.METRIC) -> tuple[str, str]:
    """`Your week: 4 workouts, 32 km` and a sentence that compares it with the week before.

    Distances read in the user's unit; `data` keeps kilometres.
    """
    if not recent.workouts:
        if previous.workouts:
            return ("Your week: a rest week",
                    f"No workouts in the last seven days, after {previous.workouts} the week "
                    "before. Rest counts too; a short one gets you going again.")
        return ("Your week", "No workouts in the last seven days. A short walk counts: "
                "why not plan one for tomorrow?")
    parts = [f"{recent.workouts} workout{'s' if recent.workouts != 1 else ''}"]
    if recent.distance_km:
        parts.append(units.distance(recent.distance_km, unit))
    parts.append(_duration(recent.duration_minutes))
    title = "Your week: " + ", ".join(parts[:2])
    if recent.distance_km or previous.distance_km:
        now_value, then_value, measure = recent.distance_km, previous.distance_km, "distance"
    else:
        now_value, then_value, measure = (recent.duration_minutes, previous.duration_minutes,
                                          "time")
    done = ", ".join(parts)
    if not then_value:
        return title, f"{done} in the last seven days, up from none the week before. Great start!"
    change = round(100 * (now_value - then_value) / then_value)
    if change >= 5:
        return title, f"{done}: {change} % more {measure} than the week before. Keep it up!"
    if change <= -5:
        return title, (f"{done}: {-change} % less {measure} than the week before; "
                       "easier weeks help you recover.")
    return title, f"{done}, about the same {measure} as the week before. Nice and steady."
