"""This week's training as bars, laid out on the server and drawn as inline SVG."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

BAR_AREA = 100  # pixels of height the tallest bar may take


@dataclass(frozen=True)
class Bar:
    label: str
    day: date
    minutes: int
    height: int
    x: int
    is_today: bool


def week_chart(monday: date, minutes_by_day: dict[date, int], today: date) -> list[Bar]:
    """Seven bars, Monday first, scaled to the busiest day (or 60 minutes, if more)."""
    days = [monday + timedelta(days=i) for i in range(7)]
    top = max([60, *(int(minutes_by_day.get(d, 0)) for d in days)])
    return [
        Bar(
            label=d.strftime("%a"),
            day=d,
            minutes=int(minutes_by_day.get(d, 0)),
            height=round(BAR_AREA * int(minutes_by_day.get(d, 0)) / top),
            x=10 + i * 40,
            is_today=d == today,
        )
        for i, d in enumerate(days)
    ]
