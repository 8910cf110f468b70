"""Goal pages: list with progress, create, delete."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from fitness_app.extensions import db
from fitness_app.forms import render_form
from fitness_app.goals import bp
from fitness_app.goals.forms import GoalForm
from fitness_app.models import Goal
from fitness_app.services import goals as service


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
        service.create_goal(current_user.id, form.kind.data, form.target.data, form.period.data)
        flash("Goal saved.", "success")
        return redirect(url_for("goals.index"))
    return render_form("goals/form.html", form)


@bp.route("/<int:goal_id>/delete", methods=["POST"])
def delete(goal_id: int) -> Response:
    goal = db.session.get(Goal, goal_id)
    if goal is None or goal.user_id != current_user.id:
        abort(404)
    service.delete_goal(goal)
    flash("Goal deleted.", "info")
    return redirect(url_for("goals.index"))
