"""The dashboard and the health check."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from fitness_app import outages
from fitness_app.extensions import db
from fitness_app.main import bp
from fitness_app.main.chart import week_chart
from fitness_app.models import Workout
from fitness_app.services import preferences
from fitness_app.services.training import goals, records, streaks


@bp.route("/")
def index() -> str | Response:
    if not current_user.is_authenticated:
        # The sign-in page is the landing page: it says what the app is, with no
        # "please sign in" scolding for someone who has never been here.
        return redirect(url_for("auth.login", next="/"))
    return render_template("main/index.html", **_dashboard())


@bp.route("/dashboard/live")
@login_required
def dashboard_live() -> str:
    """The dashboard's cards alone, for the page to swap in when a notification arrives.

    static/js/dashboard-live.js asks at most once per notification group (and
    never twice at once), so a completion with its goals, record and streak
    costs one request, the same reads as the page itself.
    """
    return render_template("main/_dashboard.html", **_dashboard())


def _dashboard() -> dict[str, Any]:
    """What the dashboard shows: recent workouts, goals, this week, streak and records."""
    recent = db.session.scalars(
        sa.select(Workout)
        .where(Workout.user_id == current_user.id)
        .order_by(Workout.performed_on.desc(), Workout.id.desc())
        .limit(5)
    ).all()
    today = preferences.user_today(current_user)
    monday = today - timedelta(days=today.weekday())
    minutes_by_day = dict(
        db.session.execute(
            sa.select(Workout.performed_on, sa.func.sum(Workout.duration_minutes))
            .where(
                Workout.user_id == current_user.id,
                Workout.completed_at.is_not(None),
                Workout.performed_on >= monday,
                Workout.performed_on < monday + timedelta(days=7),
            )
            .group_by(Workout.performed_on)
        ).all()
    )
    return {
        "recent": recent,
        "progress": goals.progress_for(current_user.id, today),
        "chart": week_chart(monday, minutes_by_day, today),
        "streak": streaks.current_length(current_user.id, today),
        "records": records.user_records(current_user.id),
    }


@bp.route("/favicon.ico")
def favicon() -> Response:
    """Pages link the SVG logo as their icon; this serves clients that ask the old way."""
    return redirect(url_for("static", filename="img/logo.svg"), 301)


@bp.route("/healthz")
def healthz() -> Response | tuple[Response, int, dict[str, str]]:
    """200 while the database answers; 503 otherwise, for load balancers and monitors."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any database failure means unhealthy
        outages.give_up_transaction()
        if outages.is_database_outage(error):
            outages.state().noted(error)
        else:
            current_app.logger.exception("health check failed")
        return (jsonify(status="unavailable"), 503,
                {"Retry-After": str(outages.retry_after())})
    return jsonify(status="ok")
