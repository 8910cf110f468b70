"""Admins broadcast announcements, see who is online, and answer reports on comments."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from fitness_app.admin import bp
from fitness_app.admin.forms import BroadcastForm
from fitness_app.extensions import db
from fitness_app.forms import render_form
from fitness_app.models import Notification
from fitness_app.realtime import presence
from fitness_app.services.notifications import badges, store
from fitness_app.services.social import comments, reports
from fitness_app.urls import id_arg

#: Open reports listed per page of /admin/reports.
REPORTS_PER_PAGE = 50


@bp.before_request
@login_required
def require_admin() -> None:
    """Anonymous visitors go to the login page; signed-in non-admins get 403."""
    if not current_user.is_admin:
        abort(403)


def _render(form: BroadcastForm) -> tuple[str, int]:
    recent = db.session.scalars(
        sa.select(Notification)
        .where(Notification.user_id.is_(None))
        .order_by(Notification.id.desc())
        .limit(20)
    ).all()
    return render_form(
        "admin/index.html", form, recent=recent, online=presence.store().snapshot()
    )


@bp.route("/")
def index() -> tuple[str, int]:
    return _render(BroadcastForm())


@bp.route("/broadcast", methods=["POST"])
def broadcast() -> Response | tuple[str, int]:
    form = BroadcastForm()
    if not form.validate_on_submit():
        return _render(form)
    store.announce(current_user, form.message.data)
    badges.refresh_online_in_background(current_app._get_current_object())
    flash("Announcement sent.", "success")
    return redirect(url_for("admin.index"))


@bp.route("/reports")
def report_list() -> str:
    """Open reports, oldest first, in keyset pages (`?after=<report id>`)."""
    after = id_arg("after")
    if after is None:
        abort(404)
    found = reports.open_reports(after, REPORTS_PER_PAGE + 1)
    more = len(found) > REPORTS_PER_PAGE
    shown = found[:REPORTS_PER_PAGE]
    return render_template("admin/reports.html", reports=shown,
                           next_after=shown[-1].id if more else None, after=after)


@bp.route("/reports/<int:comment_id>/delete", methods=["POST"])
def delete_reported(comment_id: int) -> Response:
    """Delete a reported comment; its reports go with it."""
    if comments.delete(current_user, comment_id) is None:
        abort(404)
    flash("Comment deleted.", "info")
    return redirect(url_for("admin.report_list"), 303)


@bp.route("/reports/<int:comment_id>/dismiss", methods=["POST"])
def dismiss_reports(comment_id: int) -> Response:
    """Keep the comment and close its open reports."""
    if not reports.dismiss(comment_id):
        abort(404)
    flash("Reports dismissed; the comment stays.", "info")
    return redirect(url_for("admin.report_list"), 303)
