"""Profiles (`/u/<username>`), following, blocking, and the requests waiting for an answer.

A user who blocked the viewer, or who does not exist, is a 404 on every one
of these routes, in the same words: nobody learns who blocked them. The
viewer's own block is different: the blocker still reaches the profile, to
lift it.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from fitness_app.limits import per_user
from fitness_app.models import User
from fitness_app.profiles import bp
from fitness_app.services.social import blocks, follows, profiles
from fitness_app.urls import id_arg, local_path


@bp.before_request
@login_required
def require_login() -> None:
    """Every profile and follow page needs a signed-in user."""


def _before() -> int | None:
    """The `?before=` cursor: None when absent, 400 when it is not an id."""
    if "before" not in request.args:
        return None
    value = id_arg("before")
    if value is None:
        abort(400, "`before` must be a workout id.")
    return value


def _other(username: str) -> tuple[User, profiles.Relation | None]:
    """The user named and how the viewer stands with them (None: it is the viewer).

    404 when absent or when they blocked the viewer.
    """
    user = profiles.user_named(username)
    if user is None:
        abort(404)
    if user.id == current_user.id:
        return user, None
    relation = profiles.relation(current_user.id, user.id)
    if relation.blocked_me:
        abort(404)
    return user, relation


def _someone_else(username: str) -> User:
    """`_other`, and not oneself (400): one cannot follow or block oneself."""
    user, relation = _other(username)
    if relation is None:
        abort(400, "You cannot follow, unfollow or block yourself.")
    return user


def _back(user: User) -> Response:
    """Back where the button was pressed (a profile, the requests page), else the profile."""
    return redirect(local_path(request.referrer)
                    or url_for("profiles.show", username=user.username))


@bp.route("/u/<username>")
def show(username: str) -> str:
    user, relation = _other(username)
    mine = relation is None
    blocked = relation is not None and relation.blocked_them
    page = (profiles.Page([], None) if blocked
            else profiles.visible_workouts(current_user.id, user.id, _before()))
    return render_template("profiles/show.html", user=user, mine=mine, relation=relation,
                           page=page)


@bp.route("/u/<username>/follow", methods=["POST"])
@per_user("RATELIMIT_FOLLOW", "You have sent many follow requests.")
def follow(username: str) -> Response:
    user = _someone_else(username)
    outcome = follows.ask(current_user, user.id)
    if outcome is follows.Asked.BLOCKED:
        abort(404)
    if outcome is follows.Asked.REQUESTED:
        flash(f"Asked to follow {user.username}.", "success")
    return _back(user)


@bp.route("/u/<username>/unfollow", methods=["POST"])
def unfollow(username: str) -> Response:
    user = _someone_else(username)
    if follows.unfollow(current_user, user.id):
        flash(f"You no longer follow {user.username}.", "info")
    return _back(user)


@bp.route("/u/<username>/block", methods=["POST"])
def block(username: str) -> Response:
    user = _someone_else(username)
    if blocks.block(current_user, user.id):
        flash(f"Blocked {user.username}.", "info")
    return _back(user)


@bp.route("/u/<username>/unblock", methods=["POST"])
def unblock(username: str) -> Response:
    user = profiles.user_named(username)
    if user is None or user.id == current_user.id:
        abort(404)
    if not blocks.unblock(current_user, user.id):
        abort(404)
    flash(f"Unblocked {user.username}.", "info")
    return _back(user)


@bp.route("/followers/requests")
def requests() -> str:
    page = profiles.waiting_requests(current_user.id, _before())
    return render_template("profiles/requests.html", page=page)


@bp.route("/followers/<username>/accept", methods=["POST"])
def accept(username: str) -> Response:
    user = profiles.user_named(username)
    if user is None or not follows.accept(current_user, user.id):
        abort(404)
    flash(f"{user.username} now follows you.", "success")
    return redirect(url_for("profiles.requests"))


@bp.route("/followers/<username>/decline", methods=["POST"])
def decline(username: str) -> Response:
    user = profiles.user_named(username)
    if user is None or not follows.decline(current_user, user.id):
        abort(404)
    flash(f"Declined {user.username}'s request.", "info")
    return redirect(url_for("profiles.requests"))
