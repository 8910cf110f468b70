from flask import Blueprint

bp = Blueprint("imports", __name__, url_prefix="/workouts")

from fitness_app.imports import routes  # noqa: E402, F401
