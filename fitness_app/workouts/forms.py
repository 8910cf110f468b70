"""The workout form: every bad value becomes a message next to its field."""

from __future__ import annotations

from datetime import timedelta

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
from fitness_app.models import ACTIVITIES
from fitness_app.services.preferences import current_today
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
    performed_on = DateField(
        "Date", validators=[InputRequired(message="Enter the date.")], default=current_today
    )
    # `time` in the contract; the column is `start_time` (`time` names a type).
    time = TimeField("Time", format="%H:%M", validators=[Optional()])
    completed = BooleanField("Completed", default=True)

    def validate_performed_on(self, field: DateField) -> None:
        if field.data and field.data > current_today() + timedelta(days=1):
            raise ValidationError("The date can be no later than tomorrow.")
        if field.data and field.data.year < 1900:
            raise ValidationError("Enter a date after 1900.")

    def to_input(self) -> WorkoutInput:
        return WorkoutInput(
            title=self.title.data,
            activity=self.activity.data,
            duration_minutes=self.duration_minutes.data,
            distance_km=self.distance_km.data,
            performed_on=self.performed_on.data,
            start_time=self.time.data,
        )


class EditWorkoutForm(WorkoutForm):
    """Editing changes the figures; completing has its own button."""

    completed = None

    @classmethod
    def of(cls, workout: object) -> EditWorkoutForm:
        """The form filled from a workout, its `start_time` shown as `time`."""
        return cls(obj=workout, time=getattr(workout, "start_time", None))
