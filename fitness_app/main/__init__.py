from flask import Blueprint

bp = Blueprint("main", __name__)

from fitness_app.main import filters, routes  # noqa: E402, F401
