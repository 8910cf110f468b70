"""The settings page: the user's time zone, quiet hours, muted kinds and account actions."""

from __future__ import annotations

from datetime import datetime

from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from fitness_app.forms import render_form
from fitness_app.services import preferences, timezones
from fitness_app.services.schedule import settings as schedule_settings
from fitness_app.settings import bp
from fitness_app.settings.forms import SettingsForm


@bp.route("/", methods=["GET", "POST"])
@login_required
def index() -> Response | tuple[str, int]:
    form = SettingsForm() if request.method == "POST" else SettingsForm.for_user(current_user)
    if form.validate_on_submit():
        # Together: who sees new workouts, saved in the commit below.
        current_user.default_visibility = form.default_visibility.data
        # Reminders, nudges, summary, digest: rows rewritten in the commit below.
        schedule_settings.save(current_user, form.timing(), form.timezone.data)
        preferences.save(
            current_user,
            form.timezone.data,
            form.quiet_start.data,
            form.quiet_end.data,
            form.muted.data or [],
            units=form.units.data,
        )
        flash("Settings saved.", "success")
        return redirect(url_for("settings.index"))
    return render_form(
        "settings/index.html", form, zone_names=sorted(timezones.zone_names()),
        upcoming=schedule_settings.upcoming(current_user),
    )


@bp.app_template_filter("localtime")
def localtime(moment: datetime) -> str:
    """A stored UTC moment as the signed-in user reads it: `2026-11-27 02:00 NZDT`."""
    zone_name = current_user.timezone if current_user.is_authenticated else None
    return timezones.local_time(moment, zone_name).strftime("%Y-%m-%d %H:%M %Z")
