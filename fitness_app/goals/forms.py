"""The goal form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import FloatField, SelectChoice, SelectField
from wtforms.validators import InputRequired, NumberRange

from fitness_app.forms import Finite

KIND_CHOICES = [
    SelectChoice("workouts", "Workouts"),
    SelectChoice("distance_km", "Distance (km)"),
    SelectChoice("duration_minutes", "Duration (minutes)"),
    SelectChoice("streak_days", "Streak (days in a row)"),
]
PERIOD_CHOICES = [
    SelectChoice("week", "Week"),
    SelectChoice("month", "Month"),
    SelectChoice("all_time", "All time"),
]


class GoalForm(FlaskForm):
    kind = SelectField("Goal", choices=KIND_CHOICES, validators=[InputRequired()])
    target = FloatField(
        "Target",
        validators=[
            InputRequired(message="Enter a target number."),
            Finite(),
            NumberRange(min=0.1, max=100000, message="Enter a target between 0.1 and 100000."),
        ],
    )
    period = SelectField("Period", choices=PERIOD_CHOICES, default="week")
