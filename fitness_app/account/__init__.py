"""Account actions: /settings/password, /settings/export, /settings/delete, and the
password reset pages under /auth, kept out of the auth blueprint's own module."""

from flask import Blueprint

bp = Blueprint("account", __name__, url_prefix="/settings")
reset_bp = Blueprint("account_reset", __name__, url_prefix="/auth")

from fitness_app.account import reset, routes  # noqa: E402, F401
