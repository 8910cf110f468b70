"""The workout form: every bad value becomes a message next to its field."""

from __future__ import annotations

from datetime import timedelta

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from fitness_app.forms import Finite
from fitness_app.models import ACTIVITIES
from fitness_app.services.preferences import current_today
from fitness_app.services.workouts import WorkoutInput


class WorkoutForm(FlaskForm):
    title = StringField(
        "Title",
        validators=[DataRequired(), Length(min=1, max=120)],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    activity = SelectField(
        "Activity",
        choices=[SelectChoice(a, a.capitalize()) for a in ACTIVITIES],
        validators=[InputRequired()],
    )
    duration_minutes = IntegerField(
        "Duration (minutes)",
        validators=[InputRequired(message="Enter the duration in whole minutes."),
                    NumberRange(min=1, max=1440)],
    )
    distance_km = FloatField(
        "Distance (km)",
        validators=[Optional(), Finite(), NumberRange(min=0, max=1000)],
    )
    performed_on = DateField("Date", validators=[InputRequired()], default=current_today)
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
        )


class EditWorkoutForm(WorkoutForm):
    """Editing changes the figures; completing has its own button."""

    completed = None
