"""The feed: `/feed`, the newest workouts of the people one follows (services/social/feed.py)."""

from flask import Blueprint

bp = Blueprint("feed", __name__)

from fitness_app.feed import routes  # noqa: E402, F401
