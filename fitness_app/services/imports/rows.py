"""The rows an import writes: one transaction per file, then one to finish.

Each file's outcome (a workout and its track, or a skip, or a refusal), its
`import_entries` row and the import's counters commit together, so an import
stopped at any point has written whole files only, and resumes after the last
one recorded.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import ImportEntry, User, Workout, WorkoutImport, WorkoutTrack, utcnow
from fitness_app.services import timezones
from fitness_app.services.imports.track import Parsed
from fitness_app.services.notifications import store
from fitness_app.services.notifications.delivery import delivery
from fitness_app.services.sql import lock_user
from fitness_app.services.training import goals, workouts

#: Two workouts of one activity starting this close are the same workout.
SAME_START = timedelta(minutes=1)
ADDED, SKIPPED, REFUSED = "added", "skipped", "refused"
PARTS_OF_DAY = ((5, "Night"), (12, "Morning"), (17, "Afternoon"), (21, "Evening"), (24, "Night"))


def create(user_id: int, filename: str, upload_path: str) -> WorkoutImport:
    row = WorkoutImport(user_id=user_id, filename=filename[:255], upload_path=upload_path)
    db.session.add(row)
    db.session.commit()
    return row


def done_positions(import_id: int) -> set[int]:
    """The files already recorded: a resumed import starts after them."""
    return set(db.session.scalars(
        sa.select(ImportEntry.position).where(ImportEntry.import_id == import_id)
    ))


def _duplicate(user_id: int, parsed: Parsed) -> int | None:
    """A workout of the same activity that started within a minute of this one."""
    return db.session.scalar(
        sa.select(WorkoutTrack.workout_id)
        .join(Workout, Workout.id == WorkoutTrack.workout_id)
        .where(WorkoutTrack.user_id == user_id,
               WorkoutTrack.started_at.between(parsed.started_at - SAME_START,
                                               parsed.started_at + SAME_START),
               Workout.activity == parsed.activity)
        .limit(1)
    )


def _title(parsed: Parsed, local: datetime) -> str:
    if parsed.name and parsed.name.strip():
        return parsed.name.strip()[:120]
    part = next(name for hour, name in PARTS_OF_DAY if local.hour < hour)
    return f"{part} {parsed.activity}"


def _add(user: User, parsed: Parsed) -> Workout:
    local = timezones.local_time(parsed.started_at, user.timezone)
    seconds = max(parsed.duration_seconds, 0.0)
    data = workouts.WorkoutInput(
        title=_title(parsed, local),
        activity=parsed.activity,
        duration_minutes=max(1, round(seconds / 60)),
        distance_km=round(parsed.distance_m / 1000, 3) if parsed.distance_m else None,
        performed_on=local.date(),
    )
    workout = workouts.add_past_workout(
        user.id, data, parsed.started_at + timedelta(seconds=seconds)
    )
    db.session.add(WorkoutTrack(
        workout_id=workout.id, user_id=user.id, started_at=parsed.started_at,
        duration_seconds=seconds, elevation_gain_m=parsed.elevation_gain_m,
        route=parsed.route, points=parsed.points,
    ))
    return workout


def record(import_id: int, position: int, name: str, parsed: Parsed | None,
           refusal: str | None = None) -> str:
    """Store one file's outcome and count it, in one transaction; return the outcome."""
    with delivery():
        job = db.session.get(WorkoutImport, import_id)
        lock_user(job.user_id)
        workout_id, message = None, refusal
        if parsed is None:
            outcome = REFUSED
        elif (workout_id := _duplicate(job.user_id, parsed)) is not None:
            outcome, message = SKIPPED, "Already there: same activity, same start."
        else:
            outcome = ADDED
            workout_id = _add(db.session.get(User, job.user_id), parsed).id
        db.session.add(ImportEntry(import_id=import_id, position=position, name=name[:255],
                                   outcome=outcome, message=(message or None) and message[:300],
                                   workout_id=workout_id))
        db.session.execute(
            sa.update(WorkoutImport).where(WorkoutImport.id == import_id).values(
                done=WorkoutImport.done + 1,
                heartbeat_at=utcnow(),
                **{outcome: getattr(WorkoutImport, outcome) + 1},
            )
        )
    return outcome


def finish(import_id: int) -> WorkoutImport:
    """Mark the import done and say so; bring the streak and goals up to date once."""
    with delivery():
        job = db.session.get(WorkoutImport, import_id, populate_existing=True)
        if job.added:
            goals.history_added(job.user_id)
        job.status, job.finished_at, job.upload_path = "done", utcnow(), None
        store.notify(
            job.user_id, "import_finished", "Import finished", summary(job),
            {"import_id": job.id, "added": job.added, "skipped": job.skipped,
             "refused": job.refused},
        )
    return job


def fail(import_id: int, reason: str) -> None:
    """The whole upload could not be read (or its file is gone): say why, once."""
    with delivery():
        job = db.session.get(WorkoutImport, import_id, populate_existing=True)
        job.status, job.finished_at, job.upload_path = "failed", utcnow(), None
        job.error = reason[:500]
        store.notify(
            job.user_id, "import_finished", "Import failed", f"{job.filename}: {reason}",
            {"import_id": job.id, "added": job.added, "skipped": job.skipped,
             "refused": job.refused},
        )


def summary(job: WorkoutImport) -> str:
    """`12 workouts added, 3 skipped as duplicates, 1 refused.`"""
    added = f"{job.added} workout{'' if job.added == 1 else 's'} added"
    return f"{added}, {job.skipped} skipped as duplicates, {job.refused} refused."
