from flask import Blueprint

bp = Blueprint("goals", __name__, url_prefix="/goals")

from fitness_app.goals import routes  # noqa: E402, F401
