from flask import Blueprint

bp = Blueprint("workouts", __name__, url_prefix="/workouts")

from fitness_app.workouts import routes  # noqa: E402, F401
