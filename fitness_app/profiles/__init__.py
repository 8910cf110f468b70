from flask import Blueprint

bp = Blueprint("profiles", __name__)

from fitness_app.profiles import routes  # noqa: E402, F401
