from flask import Blueprint

bp = Blueprint("reactions", __name__)

from fitness_app.reactions import routes  # noqa: E402, F401
