"""A user's settings: time zone, quiet hours and muted kinds, and what they decide.

`silent` is decided here once, when a notification is created, and stored on
it: a muted kind, or anything but an announcement made during the user's
quiet hours, is stored and counted as always but shows no popup.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time

from flask_login import current_user

from fitness_app.extensions import db
from fitness_app.models import User
from fitness_app.services import timezones

#: The kinds a user may mute, with their labels. Announcements cannot be muted.
MUTABLE_KINDS = (
    ("workout_completed", "Workout completed"),
    ("goal_achieved", "Goal achieved"),
    ("personal_record", "Personal record"),
    ("streak", "Streak"),
    ("reminder", "Workout reminder"),
    ("goal_nudge", "Goal nudge"),
    ("weekly_summary", "Weekly summary"),
    ("follow_request", "Follow request"),
    ("follow_accepted", "Follow accepted"),
    ("kudos", "Kudos"),
    ("comment", "Comment"),
)
_MUTABLE = frozenset(kind for kind, _ in MUTABLE_KINDS)


def muted_kinds(user: User) -> set[str]:
    return {kind for kind in (user.muted or "").split(",") if kind in _MUTABLE}


def is_silent(user: User, kind: str, now: datetime | None = None) -> bool:
    """Whether a new notification of `kind` for `user` comes without a popup."""
    if kind == "announcement":
        return False
    if kind in muted_kinds(user):
        return True
    local = timezones.local_now(user.timezone, now)
    return timezones.in_quiet_hours(local.time(), user.quiet_start, user.quiet_end)


def silent_for(user_id: int, kind: str) -> bool:
    """`is_silent` by id; the user is usually in the session already (no query)."""
    user = db.session.get(User, user_id)
    return user is not None and is_silent(user, kind)


def save(
    user: User,
    zone_name: str,
    quiet_start: time | None,
    quiet_end: time | None,
    muted: Iterable[str],
    *,
    units: str | None = None,
) -> None:
    user.timezone = timezones.clean_zone(zone_name)
    if units is not None:
        user.units = units
    user.quiet_start, user.quiet_end = quiet_start, quiet_end
    user.muted = ",".join(kind for kind, _ in MUTABLE_KINDS if kind in set(muted))
    db.session.commit()


def user_today(user: User) -> date:
    return timezones.local_today(user.timezone)


def current_today() -> date:
    """Today for whoever is signed in (their zone), or in UTC for anyone else."""
    if current_user and current_user.is_authenticated:
        return user_today(current_user)
    return timezones.local_today(None)
