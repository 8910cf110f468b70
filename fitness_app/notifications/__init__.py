from flask import Blueprint

bp = Blueprint("notifications", __name__)

from fitness_app.notifications import routes  # noqa: E402, F401
