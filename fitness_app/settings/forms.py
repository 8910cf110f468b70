"""The settings form: time zone, quiet hours, muted kinds, who sees new workouts, units."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from wtforms import SelectChoice, SelectField, SelectMultipleField, StringField, TimeField
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from fitness_app.forms import Form, strip
from fitness_app.models import User
from fitness_app.services import preferences, timezones, units
from fitness_app.services.social.visibility import LEVELS
from fitness_app.settings.reminder_fields import ReminderFields


class SettingsForm(ReminderFields, Form):
    timezone = StringField(
        "Time zone",
        validators=[DataRequired(message="Enter a time zone such as Europe/Paris."),
                    Length(max=64)],
        filters=[strip],
    )
    quiet_start = TimeField("Quiet hours start", format="%H:%M", validators=[Optional()])
    quiet_end = TimeField("Quiet hours end", format="%H:%M", validators=[Optional()])
    muted = SelectMultipleField(
        "Mute",
        choices=[SelectChoice(kind, label) for kind, label in preferences.MUTABLE_KINDS],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=True,
    )
    # Together (services/social/): who sees a new workout unless its form says otherwise.
    default_visibility = SelectField(
        "New workouts are seen by",
        choices=[SelectChoice(level, label) for level, label in LEVELS],
        # Absent from a post (an older client): unchanged.
        default=lambda: current_user.default_visibility,
    )
    # Left out of a POST, the user's current choice stays.
    units = SelectField("Units", choices=[SelectChoice(v, label) for v, label in units.CHOICES],
                        default=lambda: units.of(current_user))

    @classmethod
    def for_user(cls, user: User) -> SettingsForm:
        return cls(data={
            "timezone": user.timezone,
            "quiet_start": user.quiet_start,
            "quiet_end": user.quiet_end,
            "muted": sorted(preferences.muted_kinds(user)),
            "default_visibility": user.default_visibility,
            "units": units.of(user),
            **cls.reminder_data(user),
        })

    def validate_timezone(self, field: StringField) -> None:
        if not timezones.is_zone(field.data):
            raise ValidationError("Enter a time zone such as Europe/Paris or Pacific/Auckland.")

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if (self.quiet_start.data is None) != (self.quiet_end.data is None):
            missing = self.quiet_end if self.quiet_end.data is None else self.quiet_start
            missing.errors.append("Give both a start and an end, or neither.")
            return False
        return True
