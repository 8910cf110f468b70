"""Workout pages: list, log or plan, show, edit, delete, and complete a planned one."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from fitness_app.extensions import db
from fitness_app.forms import render_form
from fitness_app.models import User, Workout
from fitness_app.services.social.visibility import LEVELS, get_visible_workout_or_404
from fitness_app.services.training import workouts as service
from fitness_app.urls import local_path, page_arg
from fitness_app.workouts import bp
from fitness_app.workouts.forms import EditWorkoutForm, WorkoutForm


@bp.before_request
@login_required
def require_login() -> None:
    """Every workout page needs a signed-in user."""


@bp.route("/")
def index() -> str:
    page = page_arg()
    query = (
        sa.select(Workout)
        .where(Workout.user_id == current_user.id)
        .order_by(Workout.performed_on.desc(), Workout.id.desc())
    )
    pagination = db.paginate(
        query, page=page, per_page=current_app.config["WORKOUTS_PER_PAGE"], error_out=False
    )
    return render_template("workouts/index.html", pagination=pagination)


@bp.route("/new", methods=["GET", "POST"])
def new() -> Response | tuple[str, int]:
    form = WorkoutForm()
    if form.validate_on_submit():
        data = form.to_input()
        service.log_workout(current_user.id, data, form.completed.data)
        # The title as submitted: the row expired at COMMIT, and reading it back
        # would cost another query on the hottest request of the app.
        flash(f"Saved “{data.title}”.", "success")
        return redirect(url_for("workouts.index"))
    return render_form("workouts/form.html", form, workout=None)


@bp.route("/<int:workout_id>")
def show(workout_id: int) -> str:
    """The workout's page, to whoever its visibility allows; anyone else gets 404."""
    return render_page(get_visible_workout_or_404(workout_id))


def render_page(workout: Workout, **extra: Any) -> str:
    """The workout's page for a viewer who may see it (the caller checked).

    Also what the comment form comes back on when it has errors (reactions/).
    """
    return render_template(
        "workouts/show.html",
        workout=workout,
        owner=db.session.get(User, workout.user_id),
        is_owner=workout.user_id == current_user.id,
        levels=dict(LEVELS),
        **extra,
    )


@bp.route("/<int:workout_id>/edit", methods=["GET", "POST"])
def edit(workout_id: int) -> Response | tuple[str, int]:
    workout = service.get_owned(current_user.id, workout_id) or abort(404)
    form = EditWorkoutForm.for_workout(workout)
    if form.validate_on_submit():
        service.update_workout(workout, form.to_input())
        flash(f"Updated “{workout.title}”.", "success")
        return redirect(url_for("workouts.index"))
    return render_form("workouts/form.html", form, workout=workout)


@bp.route("/<int:workout_id>/delete", methods=["POST"])
def delete(workout_id: int) -> Response:
    workout = service.get_owned(current_user.id, workout_id) or abort(404)
    service.delete_workout(workout)
    flash("Workout deleted.", "info")
    return redirect(url_for("workouts.index"))


@bp.route("/<int:workout_id>/complete", methods=["POST"])
def complete(workout_id: int) -> Response:
    outcome = service.complete_workout(current_user.id, workout_id)
    if outcome is service.Completion.NOT_FOUND:
        abort(404)
    if outcome is service.Completion.COMPLETED:
        flash("Workout completed. Well done!", "success")
    else:
        flash("That workout was already completed.", "info")
    return redirect(local_path(request.referrer) or url_for("workouts.index"))
