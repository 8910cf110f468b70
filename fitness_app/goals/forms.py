"""The goal form."""

from __future__ import annotations

from wtforms import FloatField, SelectChoice, SelectField
from wtforms.validators import InputRequired

from fitness_app.forms import Form, InRange

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


class GoalForm(Form):
    kind = SelectField(
        "Goal", choices=KIND_CHOICES, validators=[InputRequired(message="Choose a goal.")]
    )
    target = FloatField(
        "Target",
        validators=[
            InputRequired(message="Enter a target number."),
            InRange(0.1, 100000, message="Enter a target between 0.1 and 100000."),
        ],
    )
    period = SelectField("Period", choices=PERIOD_CHOICES, default="week")
