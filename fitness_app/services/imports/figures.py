"""A workout's route as SVG geometry, and its figures in the viewer's unit, for the workout page.

No map tiles: nothing here could fetch them, and a drawn line keeps the page
fast and private. The route is projected equirectangularly around its middle
(exact enough for the few kilometres a workout covers) and scaled into a
fixed viewBox; the template (`templates/workouts/_route.html`) draws it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import Workout, WorkoutTrack
from fitness_app.services import units
from fitness_app.services.imports.track import decoded_route

WIDTH, HEIGHT, MARGIN = 320, 200, 10
#: Activities whose speed people read as pace (time per km or mile).
PACED = frozenset({"run", "walk", "swim"})


@dataclass(frozen=True)
class Figures:
    """What the workout page shows: the route's SVG path and the figures as words."""

    path: str | None
    start: tuple[float, float] | None
    end: tuple[float, float] | None
    distance: str | None
    duration: str
    #: The file's moving time, when it had one: what pace and speed are counted over.
    moving: str | None
    pace: str | None
    speed: str | None
    elevation_gain: str | None
    width: int = WIDTH
    height: int = HEIGHT


def svg_path(points: list[tuple[float, float]]) -> tuple[str, tuple[float, float],
                                                          tuple[float, float]] | None:
    """`M x y L x y …` in a WIDTH × HEIGHT box, north up, proportions kept."""
    if len(points) < 2:
        return None
    middle = math.cos(math.radians(sum(lat for lat, _ in points) / len(points)))
    xs = [lon * middle for _, lon in points]
    ys = [-lat for lat, _ in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1e-9
    scale = min((WIDTH - 2 * MARGIN) / span, (HEIGHT - 2 * MARGIN) / span)
    # Centre the drawing in the box.
    left = (WIDTH - (max(xs) - min(xs)) * scale) / 2
    top = (HEIGHT - (max(ys) - min(ys)) * scale) / 2
    plotted = [(round(left + (x - min(xs)) * scale, 1), round(top + (y - min(ys)) * scale, 1))
               for x, y in zip(xs, ys, strict=True)]
    path = "M" + " L".join(f"{x:g} {y:g}" for x, y in plotted)
    return path, plotted[0], plotted[-1]


def duration_words(seconds: float) -> str:
    """`42 min`, `1 h 05 min`, `58 s`."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def elevation_words(metres: float, unit: str) -> str:
    """Climb in metres, or in feet for imperial readers."""
    if unit == units.IMPERIAL:
        return f"{round(metres * units.FEET_PER_METRE):,} ft"
    return f"{round(metres):,} m"


def for_workout(workout: Workout, unit: str) -> Figures:
    """The workout's figures in `unit`, with its route when it came from a file."""
    track = db.session.scalar(sa.select(WorkoutTrack).where(WorkoutTrack.workout_id == workout.id))
    seconds = track.duration_seconds if track else workout.duration_minutes * 60
    drawn = svg_path(decoded_route(track.route)) if track else None
    km = workout.distance_km or 0.0
    return Figures(
        path=drawn[0] if drawn else None,
        start=drawn[1] if drawn else None,
        end=drawn[2] if drawn else None,
        distance=units.distance(km, unit) if km else None,
        duration=duration_words(seconds),
        moving=duration_words(seconds) if track else None,
        pace=units.pace(seconds, km, unit) if workout.activity in PACED else None,
        speed=None if workout.activity in PACED else units.speed(seconds, km, unit),
        elevation_gain=(elevation_words(track.elevation_gain_m, unit)
                        if track and track.elevation_gain_m is not None else None),
    )
