"""The workout form: every bad value becomes a message next to its field.

The distance is typed in the user's unit: `distance_km` (Distance (km)) for
metric users, `distance_mi` (Distance (mi)) for imperial ones. Both names are
accepted from any client; the one in the user's unit wins when both come.
"""

from __future__ import annotations

from datetime import timedelta

from flask_login import current_user
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from fitness_app.forms import Form, InRange, strip
from fitness_app.models import ACTIVITIES, Workout
from fitness_app.services import units
from fitness_app.services.preferences import current_today
from fitness_app.services.social.visibility import LEVELS
from fitness_app.services.training.workouts import WorkoutInput


class WorkoutForm(Form):
    title = StringField(
        "Title",
        validators=[
            DataRequired(message="Give the workout a title."),
            Length(max=120, message="Keep the title to 120 characters."),
        ],
        filters=[strip],
    )
    activity = SelectField(
        "Activity",
        choices=[SelectChoice(a, a.capitalize()) for a in ACTIVITIES],
        validators=[InputRequired(message="Choose an activity.")],
    )
    duration_minutes = IntegerField(
        "Duration (minutes)",
        validators=[
            InputRequired(message="Enter the duration in whole minutes."),
            InRange(1, 1440, message="Enter a duration from 1 to 1440 minutes."),
        ],
    )
    distance_km = FloatField(
        "Distance (km)",
        validators=[
            Optional(),
            InRange(0, 1000, message="Enter a distance from 0 to 1000 km."),
        ],
    )
    distance_mi = FloatField(
        "Distance (mi)",
        validators=[
            Optional(),
            InRange(0, 620, message="Enter a distance from 0 to 620 mi."),
        ],
    )
    performed_on = DateField(
        "Date", validators=[InputRequired(message="Enter the date.")], default=current_today
    )
    # `time` in the contract; the column is `start_time` (`time` names a type).
    time = TimeField("Time", format="%H:%M", validators=[Optional()])
    completed = BooleanField("Completed", default=True)
    visibility = SelectField(
        "Who can see it",
        choices=[SelectChoice(level, label) for level, label in LEVELS],
        # Absent from a post: the user's default (or, when editing, as it was).
        default=lambda: current_user.default_visibility,
    )

    def validate_performed_on(self, field: DateField) -> None:
        if field.data and field.data > current_today() + timedelta(days=1):
            raise ValidationError("The date can be no later than tomorrow.")
        if field.data and field.data.year < 1900:
            raise ValidationError("Enter a date after 1900.")

    @classmethod
    def for_workout(cls, workout: Workout) -> WorkoutForm:
        """The form filled from a stored workout: its distance in both units, and its
        `start_time` as the `time` field."""
        km = workout.distance_km
        miles = None if km is None else round(units.from_km(km, units.IMPERIAL), 2)
        return cls(obj=workout, distance_mi=miles, time=workout.start_time)

    @property
    def distance_field(self) -> FloatField:
        """The distance field a person sees: the one in their unit."""
        return self.distance_mi if units.of(current_user) == units.IMPERIAL else self.distance_km

    def distance(self) -> float | None:
        """The distance in km, from whichever field was sent, the user's unit first."""
        imperial = self.distance_field is self.distance_mi
        for field, unit in ((self.distance_field, units.of(current_user)),
                            (self.distance_km if imperial else self.distance_mi,
                             units.METRIC if imperial else units.IMPERIAL)):
            if field.raw_data:
                return None if field.data is None else units.to_km(field.data, unit)
        # Neither sent: an edit keeps the stored distance, a new workout has none.
        return self.distance_km.data

    def to_input(self) -> WorkoutInput:
        return WorkoutInput(
            title=self.title.data,
            activity=self.activity.data,
            duration_minutes=self.duration_minutes.data,
            distance_km=self.distance(),
            performed_on=self.performed_on.data,
            start_time=self.time.data,
            visibility=self.visibility.data,
        )


class EditWorkoutForm(WorkoutForm):
    """Editing changes the figures; completing has its own button."""

    completed = None
