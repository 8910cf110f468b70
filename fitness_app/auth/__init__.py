from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from fitness_app.auth import routes  # noqa: E402, F401
