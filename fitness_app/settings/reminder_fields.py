"""The settings form's "Reminders" fields, kept apart so the page's other sections stay small."""

from __future__ import annotations

from typing import Any

from wtforms import SelectChoice, SelectField, TimeField
from wtforms.validators import Optional, ValidationError

from fitness_app.models import User
from fitness_app.services.schedule import clock
from fitness_app.services.schedule.settings import (
    DEFAULT_REMINDER_MINUTES,
    REMINDER_CHOICES,
    Timing,
    timing_of,
)


def _lead_label(minutes: int) -> str:
    if minutes == 0:
        return "When it starts"
    if minutes == 1440:
        return "1 day before"
    if minutes >= 60:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''} before"
    return f"{minutes} minutes before"


DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class ReminderFields:
    """Mixed into SettingsForm; WTForms collects fields from every base class."""

    reminder_minutes = SelectField(
        "Remind me before a planned workout",
        choices=[SelectChoice("", "Never")]
        + [SelectChoice(str(m), _lead_label(m)) for m in REMINDER_CHOICES],
        default=str(DEFAULT_REMINDER_MINUTES),
    )
    nudge_time = TimeField("Goal nudge at", format="%H:%M", validators=[Optional()])
    summary_day = SelectField(
        "Weekly summary on",
        choices=[SelectChoice("", "Never")]
        + [SelectChoice(day, name) for day, name in zip(clock.WEEKDAYS, DAY_NAMES, strict=True)],
        default="",
    )
    summary_time = TimeField("at", format="%H:%M", validators=[Optional()])
    digest_time = TimeField(
        "Email me my unread notifications daily at", format="%H:%M", validators=[Optional()]
    )

    @staticmethod
    def reminder_data(user: User) -> dict[str, Any]:
        timing = timing_of(user)
        return {
            "reminder_minutes": "" if timing.reminder_minutes is None
            else str(timing.reminder_minutes),
            "nudge_time": timing.nudge_time,
            "summary_day": timing.summary_day or "",
            "summary_time": timing.summary_time,
            "digest_time": timing.digest_time,
        }

    def validate_summary_day(self, field: SelectField) -> None:
        # Here, not on summary_time: Optional() ends that field's checks when it is empty.
        if field.data and not any(self.summary_time.raw_data or []):
            raise ValidationError("Choose a time for the weekly summary, such as 18:00.")

    def timing(self) -> Timing:
        lead = self.reminder_minutes.data
        return Timing(
            reminder_minutes=int(lead) if lead else None,
            nudge_time=self.nudge_time.data,
            summary_day=self.summary_day.data or None,
            summary_time=self.summary_time.data,
            digest_time=self.digest_time.data,
        )
