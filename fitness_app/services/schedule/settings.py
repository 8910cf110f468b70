"""The "Reminders" settings: saved with the rest of /settings/, in the same commit.

Saving rewrites the user's due rows from the new values and the new zone, so
changing one's time zone, a time, or the reminder lead moves what is due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from fitness_app.models import User, utcnow
from fitness_app.services import timezones
from fitness_app.services.schedule import plan

#: The leads a person can choose, in minutes before the start (None: never).
REMINDER_CHOICES = (0, 5, 10, 15, 30, 60, 120, 1440)
DEFAULT_REMINDER_MINUTES = 30


@dataclass(frozen=True)
class Timing:
    reminder_minutes: int | None
    nudge_time: time | None
    summary_day: str | None
    summary_time: time | None
    digest_time: time | None


def timing_of(user: User) -> Timing:
    return Timing(user.reminder_minutes, user.nudge_time, user.summary_day, user.summary_time,
                  user.digest_time)


def save(user: User, timing: Timing, zone_name: str) -> None:
    """Set the values and rewrite the due rows; the caller's commit (preferences.save) keeps both.

    The zone is set here too, because the rows are computed in the zone being
    saved, not in the one being replaced.
    """
    user.timezone = timezones.clean_zone(zone_name)
    user.reminder_minutes = timing.reminder_minutes
    user.nudge_time = timing.nudge_time
    user.summary_day = timing.summary_day
    user.summary_time = timing.summary_time
    user.digest_time = timing.digest_time
    plan.replan_user(user, utcnow())


def upcoming(user: User) -> dict[str, datetime]:
    """The next nudge, summary and digest on the user's clock, for the settings page."""
    return {kind: timezones.local_time(due, user.timezone)
            for kind, due in plan.upcoming(user).items()}
