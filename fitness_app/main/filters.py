"""Template helpers that turn stored values into words a person reads at a glance."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask_login import current_user
from markupsafe import Markup, escape

from fitness_app.main import bp
from fitness_app.services import timezones, units
from fitness_app.services.notifications.payload import iso_utc
from fitness_app.services.preferences import current_today

APP_NAME = "Stride"


@bp.app_context_processor
def product() -> dict[str, str]:
    """The product's name, for every template's title, header and copy."""
    return {"app_name": APP_NAME}


@bp.app_template_filter("human_date")
def human_date(day: date, today: date | None = None) -> str:
    """`Today`, `Yesterday`, `Tue 24 Nov` this year, `24 Nov 2025` before."""
    today = today or current_today()
    if day == today:
        return "Today"
    if day == today - timedelta(days=1):
        return "Yesterday"
    if day == today + timedelta(days=1):
        return "Tomorrow"
    if day.year == today.year:
        return f"{day:%a} {day.day} {day:%b}"
    return f"{day.day} {day:%b %Y}"


@bp.app_template_filter("duration")
def duration(minutes: int) -> str:
    """`45 min`, `1 h`, `1 h 15 min`."""
    hours, rest = divmod(int(minutes), 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


@bp.app_template_filter("plural")
def plural(count: int, singular: str, many: str | None = None) -> str:
    """`1 user`, `2 users`."""
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


@bp.app_template_filter("number")
def number(value: float) -> str:
    """At most one decimal, none when whole: `6.2`, `12`."""
    return f"{round(float(value), 1):g}"


@bp.app_template_filter("distance")
def distance(km: float) -> str:
    """A stored distance in the signed-in user's unit: `6.2 km` or `3.9 mi`."""
    return units.distance(km, units.of(current_user))


@bp.app_template_global("distance_unit")
def distance_unit() -> str:
    """`km` or `mi`: the signed-in user's unit, for labels and hints."""
    return units.symbol(units.of(current_user))


@bp.app_template_filter("moment")
def moment(when: datetime) -> Markup:
    """A `<time>` the page's script turns into `3 min ago` with the exact local time on hover.

    Without the script it reads as a date and time in the signed-in user's zone.
    """
    zone_name = current_user.timezone if current_user.is_authenticated else None
    local = timezones.local_time(when, zone_name)
    text = f"{human_date(local.date(), timezones.local_today(zone_name))}, {local:%H:%M %Z}"
    return Markup('<time datetime="{}" data-relative>{}</time>').format(
        iso_utc(local), escape(text)
    )
