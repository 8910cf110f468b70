"""The import pages: upload a file (`/workouts/import`) and follow it (`/workouts/imports/<id>`)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from fitness_app.extensions import csrf, db
from fitness_app.imports import bp
from fitness_app.limits import per_user
from fitness_app.models import ImportEntry, Workout, WorkoutImport
from fitness_app.services import units
from fitness_app.services.imports import figures, jobs, rows, upload
from fitness_app.urls import page_arg

RECENT = 10
#: Files listed per page of an import's outcome: an export may hold thousands.
ENTRIES_PER_PAGE = 200


@bp.app_template_global("workout_figures")
def workout_figures(workout: Workout) -> figures.Figures:
    """For `templates/workouts/_route.html`: the route and figures in the viewer's unit."""
    return figures.for_workout(workout, units.of(current_user))


@bp.before_request
@login_required
def require_login() -> None:
    """Every import page needs a signed-in user."""


# Exempt from the automatic CSRF check, which would parse the whole body on the
# loop: `upload.receive` streams it and checks the token itself.
@csrf.exempt
@bp.route("/import", methods=["GET", "POST"])
@per_user("RATELIMIT_IMPORT", "You have sent many imports this hour.")
def new() -> Response | tuple[str, int]:
    if request.method == "POST":
        try:
            received = upload.receive(request)
        except upload.NoFile:
            return _form("Choose a .gpx, .tcx or .fit file, or a .zip of them.", 400)
        job = rows.create(current_user.id, received.filename, received.path)
        jobs.start(job.id)
        return redirect(url_for("imports.show", import_id=job.id), 303)
    return _form(None, 200)


def _form(error: str | None, status: int) -> tuple[str, int]:
    recent = db.session.scalars(
        sa.select(WorkoutImport).where(WorkoutImport.user_id == current_user.id)
        .order_by(WorkoutImport.id.desc()).limit(RECENT)
    ).all()
    return render_template("imports/new.html", error=error, recent=recent), status


@bp.route("/imports/<int:import_id>")
def show(import_id: int) -> str:
    job = db.session.get(WorkoutImport, import_id)
    if job is None or job.user_id != current_user.id:
        abort(404)
    page = page_arg()
    # Through the (import_id, position) unique index: a page costs the same at file 19,000.
    entries = db.session.execute(
        sa.select(ImportEntry, Workout.title)
        .outerjoin(Workout, Workout.id == ImportEntry.workout_id)
        .where(ImportEntry.import_id == import_id,
               ImportEntry.position >= (page - 1) * ENTRIES_PER_PAGE,
               ImportEntry.position < page * ENTRIES_PER_PAGE)
        .order_by(ImportEntry.position)
    ).all()
    pages = max(1, -(-job.total // ENTRIES_PER_PAGE))
    return render_template("imports/show.html", job=job, entries=entries, page=page,
                           pages=pages, summary=rows.summary(job))
