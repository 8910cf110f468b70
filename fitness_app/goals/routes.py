"""Goal pages: list with progress, create, edit, delete."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from fitness_app.extensions import db
from fitness_app.forms import render_form
from fitness_app.goals import bp
from fitness_app.goals.forms import GoalForm
from fitness_app.models import Goal
from fitness_app.services.training import goals as service


@bp.before_request
@login_required
def require_login() -> None:
    """Every goal page needs a signed-in user."""


@bp.route("/")
def index() -> str:
    return render_template("goals/index.html", progress=service.progress_for(current_user.id))


@bp.route("/new", methods=["GET", "POST"])
def new() -> Response | tuple[str, int]:
    form = GoalForm()
    if form.validate_on_submit():
        service.create_goal(current_user.id, form.kind.data, form.stored_target(),
                            form.period.data)
        flash("Goal saved.", "success")
        return redirect(url_for("goals.index"))
    return render_form("goals/form.html", form, goal=None)


@bp.route("/<int:goal_id>/edit", methods=["GET", "POST"])
def edit(goal_id: int) -> Response | tuple[str, int]:
    goal = _owned(goal_id)
    form = GoalForm.for_goal(goal)
    if form.validate_on_submit():
        service.update_goal(goal, form.kind.data, form.stored_target(), form.period.data)
        flash("Goal updated.", "success")
        return redirect(url_for("goals.index"))
    return render_form("goals/form.html", form, goal=goal)


@bp.route("/<int:goal_id>/delete", methods=["POST"])
def delete(goal_id: int) -> Response:
    service.delete_goal(_owned(goal_id))
    flash("Goal deleted.", "info")
    return redirect(url_for("goals.index"))


def _owned(goal_id: int) -> Goal:
    """The user's own goal; someone else's id looks like a missing one (404)."""
    goal = db.session.get(Goal, goal_id)
    if goal is None or goal.user_id != current_user.id:
        abort(404)
    return goal
