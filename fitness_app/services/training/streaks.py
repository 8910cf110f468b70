"""Streaks: runs of consecutive local days with a completed workout, and their milestones.

The latest run is kept as one row per user (first day, last day, highest
milestone announced), so a completion costs the same after ten years as on
the first day. Only extending a run backwards, or rebuilding it after an edit
or a deletion, reads workouts: back from one day, as many days as the run is
long, through the (user_id, performed_on) index.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import Streak, Workout
from fitness_app.services.notifications import store
from fitness_app.services.sql import lock_user

MILESTONES = (3, 7, 14, 30, 50, 100, 200, 365)
_CHUNK = 32
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Run:
    """A run of consecutive workout days, first and last included."""

    since: date
    last_day: date

    @property
    def days(self) -> int:
        return (self.last_day - self.since).days + 1

    def length_on(self, today: date) -> int:
        """The streak as seen on `today`: alive until a whole day is missed."""
        return self.days if self.last_day >= today - _DAY else 0


def milestone(days: int, notified: int) -> int | None:
    """The highest milestone a run of `days` reached above `notified`, if any.

    One announcement per change: a run that jumps past two milestones at once
    (a gap filled in) announces the higher one.
    """
    reached = [m for m in MILESTONES if notified < m <= days]
    return reached[-1] if reached else None


def milestones_before(days: int) -> int:
    """The highest milestone strictly below `days`: those a run had already passed."""
    return max((m for m in MILESTONES if m < days), default=0)


def _completed_days() -> sa.Select[tuple[date]]:
    """The user's (`:user_id`) days with a completed workout, latest first."""
    return (
        sa.select(Workout.performed_on)
        .where(Workout.user_id == sa.bindparam("user_id"), Workout.completed_at.is_not(None))
        .group_by(Workout.performed_on)
        .order_by(Workout.performed_on.desc())
    )


@functools.cache
def _days_before() -> sa.Select[tuple[date]]:
    """Built once per process, like `_state_of`: every user's first completion reads
    back through it, and building it per call cost more than running it."""
    return _completed_days().where(Workout.performed_on < sa.bindparam("start")).limit(_CHUNK)


@functools.cache
def _latest_of() -> sa.Select[tuple[date]]:
    """Built once per process: the user's latest day with a completed workout."""
    return _completed_days().limit(1)


def run_start(user_id: int, day: date) -> date:
    """First day of the run ending on `day`, reading back only as far as it goes."""
    start = day
    while True:
        days = db.session.scalars(_days_before(), {"user_id": user_id, "start": start}).all()
        for earlier in days:
            if earlier != start - _DAY:
                return start
            start = earlier
        if len(days) < _CHUNK:
            return start


def _latest_day(user_id: int) -> date | None:
    return db.session.scalar(_latest_of(), {"user_id": user_id})


def _state(user_id: int) -> Streak | None:
    lock_user(user_id)
    return db.session.scalars(_state_of(), {"user_id": user_id}).first()


@functools.cache
def _state_of() -> sa.Select[Any]:
    """Built once per process: every completed workout reads the row again after
    the lock (`Session.get` with populate_existing builds its query per call)."""
    return (
        sa.select(Streak)
        .where(Streak.user_id == sa.bindparam("user_id"))
        .execution_options(populate_existing=True)
    )


@functools.cache
def _insert_streak() -> sa.Insert:
    """Built once per process, its values given at execution."""
    return sa.insert(Streak.__table__)


def current(user_id: int) -> Run | None:
    """The user's latest run, from its stored row."""
    state = db.session.get(Streak, user_id)
    return Run(state.since, state.last_day) if state else None


def current_length(user_id: int, today: date) -> int:
    """Days in the user's streak as of `today` (their today); 0 once a day is missed."""
    run = current(user_id)
    return run.length_on(today) if run else 0


def completed_on(user_id: int, day: date) -> Run | None:
    """A workout on `day` was completed (inside the caller's transaction): move the run."""
    state = _state(user_id)
    if state is None:
        return _rebuild(user_id, None)
    if day == state.last_day + _DAY:
        state.last_day = day
    elif day > state.last_day:
        state.since, state.last_day, state.notified = day, day, 0
    elif day == state.since - _DAY:
        state.since = run_start(user_id, day)
    else:
        return Run(state.since, state.last_day)
    return _moved(user_id, state)


def rebuild(user_id: int) -> Run | None:
    """Derive the latest run from the workouts after an edit, a deletion or a first use.

    A run that overlaps the stored one is the same streak and keeps the
    milestones already announced; a new one announces only what it reaches now.
    """
    return _rebuild(user_id, _state(user_id))


def _rebuild(user_id: int, state: Streak | None) -> Run | None:
    """`rebuild` with the stored row already read, under the user lock."""
    latest = _latest_day(user_id)
    if latest is None:
        if state is not None:
            db.session.delete(state)
        return None
    since = run_start(user_id, latest)
    passed = milestones_before((latest - since).days + 1)
    if state is None:
        # A user's first streak (their first completed workout, mostly): one Core
        # INSERT with the milestone already decided, not an object for the ORM
        # to flush, which cost more than the reads above.
        run = Run(since, latest)
        db.session.execute(_insert_streak(), {
            "user_id": user_id, "since": since, "last_day": latest,
            "notified": _announce(user_id, run, passed)})
        return run
    same = since <= state.last_day and latest >= state.since
    state.notified = max(state.notified, passed) if same else passed
    state.since, state.last_day = since, latest
    return _moved(user_id, state)


def _day_name(day: date) -> str:
    """`Friday 20 November`, as people say it."""
    return f"{day:%A} {day.day} {day:%B}"


def _moved(user_id: int, state: Streak) -> Run:
    """The stored run changed: announce a milestone it reached, and note it."""
    run = Run(state.since, state.last_day)
    state.notified = _announce(user_id, run, state.notified)
    return run


def _announce(user_id: int, run: Run, notified: int) -> int:
    """Announce the highest milestone `run` reached above `notified`; the new `notified`."""
    reached = milestone(run.days, notified)
    if reached is None:
        return notified
    store.notify(
        user_id,
        "streak",
        "Streak",
        f"{reached} days in a row with a workout, since {_day_name(run.since)}.",
        {"days": reached, "since": run.since.isoformat()},
    )
    return reached
