"""`/feed`: one page of the feed; the live arrivals come as `feed_item` (static/js/feed.js)."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_login import current_user, login_required

from fitness_app.feed import bp
from fitness_app.services.social import feed
from fitness_app.urls import id_arg


@bp.route("/feed")
@login_required
def index() -> str:
    """Newest first, 20 a page; `?before=<workout id>` is the page after that workout.

    A `before` that is not a plain id is a 400, never a guess.
    """
    before = None
    if "before" in request.args:
        before = id_arg("before")
        if before is None:
            abort(400, "before must be a workout id.")
    items, next_before = feed.page(current_user.id, before)
    return render_template("feed/index.html", items=items, next_before=next_before,
                           first_page=before is None)
