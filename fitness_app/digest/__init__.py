"""The daily digest's one-click unsubscribe link (RFC 8058), under /digest."""

from flask import Blueprint

bp = Blueprint("digest", __name__, url_prefix="/digest")

from fitness_app.digest import routes  # noqa: E402, F401
