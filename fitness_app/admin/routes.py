"""Admins broadcast announcements and see who is online."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from fitness_app.admin import bp
from fitness_app.admin.forms import BroadcastForm
from fitness_app.extensions import db
from fitness_app.forms import render_form
from fitness_app.models import Notification
from fitness_app.realtime import presence
from fitness_app.services.notifications import badges, store


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
