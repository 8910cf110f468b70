"""The goal form. A distance target is typed and shown in the user's unit, stored in km."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from wtforms import FloatField, SelectChoice, SelectField
from wtforms.validators import InputRequired

from fitness_app.forms import Form, InRange
from fitness_app.models import Goal
from fitness_app.services import units
from fitness_app.services.training import goal_rules

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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unit = units.of(current_user)
        self.kind.choices = [
            SelectChoice("distance_km", f"Distance ({units.symbol(self.unit)})")
            if choice.value == "distance_km" else choice
            for choice in KIND_CHOICES
        ]

    @classmethod
    def for_goal(cls, goal: Goal) -> GoalForm:
        """The form filled from a stored goal, a distance target in the user's unit."""
        shown = goal_rules.shown(goal.kind, goal.target, units.of(current_user))
        return cls(data={"kind": goal.kind, "target": round(shown, 2), "period": goal.period})

    def stored_target(self) -> float:
        """The target as stored: km for a distance goal."""
        if self.kind.data == "distance_km":
            return units.to_km(self.target.data, self.unit)
        return self.target.data
