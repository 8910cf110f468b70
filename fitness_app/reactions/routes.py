"""Kudos, comments and reports on a workout's page; every POST returns to that page."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, current_app, flash, redirect, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from fitness_app.limits import per_user
from fitness_app.models import Workout
from fitness_app.reactions import bp
from fitness_app.reactions.forms import CommentForm, ReportForm
from fitness_app.services.social import comments, kudos, reports
from fitness_app.services.social.visibility import get_visible_workout_or_404
from fitness_app.urls import id_arg
from fitness_app.workouts.routes import render_page

SEE_OTHER = 303


@dataclass(frozen=True)
class Reactions:
    """What `templates/reactions/_panel.html` shows of a workout the viewer may see."""

    gave_kudos: bool
    givers: list[str]
    comments: comments.Page
    after: int


@bp.app_template_global("workout_reactions")
def workout_reactions(workout: Workout) -> Reactions:
    """Kudos and one page of comments (`?comments_after=<id>`), a fixed number of queries."""
    after = id_arg("comments_after") or 0
    return Reactions(
        gave_kudos=kudos.has_given(current_user.id, workout.id),
        givers=(kudos.latest_givers(workout.id, current_user.id)
                if workout.kudos_count else []),
        comments=comments.page(workout, current_user, after,
                               current_app.config["COMMENTS_PER_PAGE"]),
        after=after,
    )


@bp.app_template_global("new_comment_form")
def new_comment_form() -> CommentForm:
    """An empty comment form, whatever the request that renders the page carried."""
    return CommentForm(formdata=None)


@bp.before_request
@login_required
def require_login() -> None:
    """Every reaction needs a signed-in user."""


def _back(workout_id: int, anchor: str) -> Response:
    return redirect(url_for("workouts.show", workout_id=workout_id, _anchor=anchor), SEE_OTHER)


@bp.route("/workouts/<int:workout_id>/kudos", methods=["POST"])
@per_user("RATELIMIT_KUDOS", "You have given a lot of kudos this minute.")
def give_kudos(workout_id: int) -> Response:
    outcome = kudos.give(current_user, workout_id)
    if outcome is kudos.Given.NOT_FOUND:
        abort(404)
    if outcome is kudos.Given.OWN_WORKOUT:
        abort(400, "Kudos are for other people's workouts.")
    if outcome is kudos.Given.GIVEN:
        flash("Kudos given.", "success")
    else:
        flash("You gave kudos to this workout already.", "info")
    return _back(workout_id, "kudos")


@bp.route("/workouts/<int:workout_id>/comments", methods=["POST"])
@per_user("RATELIMIT_COMMENT", "You have written a lot of comments this minute.")
def add_comment(workout_id: int) -> Response | tuple[str, int]:
    form = CommentForm()
    if not form.validate_on_submit():
        return render_page(get_visible_workout_or_404(workout_id), comment_form=form), 400
    comment_id = comments.add(current_user, workout_id, form.body.data)
    if comment_id is None:
        abort(404)
    flash("Comment added.", "success")
    return _back(workout_id, f"comment-{comment_id}")


@bp.route("/comments/<int:comment_id>/delete", methods=["POST"])
def delete_comment(comment_id: int) -> Response:
    workout_id = comments.delete(current_user, comment_id)
    if workout_id is None:
        abort(404)
    flash("Comment deleted.", "info")
    return _back(workout_id, "comments")


@bp.route("/comments/<int:comment_id>/report", methods=["POST"])
@per_user("RATELIMIT_REPORT", "You have sent a lot of reports this hour.")
def report_comment(comment_id: int) -> Response:
    form = ReportForm()
    if not form.validate_on_submit():
        abort(400, " ".join(form.reason.errors) or "Check the reason.")
    workout_id = reports.report(current_user, comment_id, form.reason.data)
    if workout_id is None:
        abort(404)
    flash("Thank you: the admins will look at that comment.", "info")
    return _back(workout_id, f"comment-{comment_id}")
