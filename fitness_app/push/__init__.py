"""Web Push over HTTP: key, subscriptions, devices page, service worker, manifest."""

from flask import Blueprint

bp = Blueprint("push", __name__)

from fitness_app.push import app_shell, routes  # noqa: E402, F401
