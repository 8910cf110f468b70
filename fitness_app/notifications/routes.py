"""The inbox and its JSON twin, for clients that catch up over plain HTTP."""

from __future__ import annotations

import re

from flask import abort, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from fitness_app.notifications import bp
from fitness_app.services.notifications import inbox as service
from fitness_app.services.notifications import read_marks
from fitness_app.services.notifications.links import links_for
from fitness_app.services.notifications.payload import serialize
from fitness_app.services.notifications.unread_counts import unread_among, unread_count
from fitness_app.urls import MAX_ID, id_arg, page_arg

_DIGITS = re.compile(r"[0-9]{1,10}")


@bp.route("/notifications/")
@login_required
def inbox() -> str:
    page = page_arg()
    per_page = current_app.config["NOTIFICATIONS_PER_PAGE"]
    pagination = service.inbox_page(current_user, page, per_page)
    unread = unread_among(current_user, (n.id for n in pagination.items))
    return render_template("notifications/inbox.html", pagination=pagination, unread=unread,
                           links=links_for(pagination.items))


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def mark_read(notification_id: int) -> Response | tuple[str, int]:
    page = page_arg()  # an absurd page is a 404 before anything is marked
    if not read_marks.mark_read(current_user, notification_id):
        return render_template("errors/404.html"), 404
    return redirect(url_for("notifications.inbox", page=page))


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_group_read() -> Response | tuple[str, int]:
    """Mark the ids of one popup's group read, in one request: `ids` repeated, 1 to 50.

    For scripts (a popup whose socket is down, or a tab that shares another
    tab's connection): 204 when done; 400 for a malformed list; 404, and
    nothing marked, when any id is not the user's.
    """
    values = request.form.getlist("ids")
    if not 0 < len(values) <= read_marks.MAX_MARKED or not all(
        _DIGITS.fullmatch(v) and 1 <= int(v) <= MAX_ID for v in values
    ):
        abort(400, f"Send 1 to {read_marks.MAX_MARKED} notification ids as `ids`.")
    if not read_marks.mark_many_read(current_user, [int(v) for v in values]):
        abort(404, "There is no such notification.")
    return Response(status=204)


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def read_all() -> Response:
    read_marks.mark_all_read(current_user)
    return redirect(url_for("notifications.inbox"))


@bp.route("/api/notifications")
def api_notifications() -> Response | tuple[Response, int]:
    if not current_user.is_authenticated:
        return jsonify(error="unauthorized"), 401
    after = id_arg("after")
    if after is None:
        return jsonify(error="after must be a non-negative integer in plain digits"), 400
    rows = service.list_after(current_user, after, current_app.config["REPLAY_LIMIT"])
    links = links_for(rows)
    return jsonify(
        notifications=[serialize(n, links) for n in rows],
        unread=unread_count(current_user.id),
    )
