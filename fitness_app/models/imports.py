"""Workout files read in the background, file by file, and the tracks they brought."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from fitness_app.extensions import db
from fitness_app.models.common import GROWING_IDS, utcnow


class WorkoutImport(db.Model):
    """One upload being read into workouts (services/imports/), file by file.

    `heartbeat_at` moves while a server works on it; an import left `queued` or
    `running` with an old heartbeat lost its server, and is resumed from
    `upload_path` or marked failed.
    """

    __tablename__ = "imports"
    __table_args__ = GROWING_IDS

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    filename: so.Mapped[str] = so.mapped_column(sa.String(255))
    # queued, running, done, failed
    status: so.Mapped[str] = so.mapped_column(sa.String(8), default="queued", index=True)
    upload_path: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    total: so.Mapped[int] = so.mapped_column(default=0)
    done: so.Mapped[int] = so.mapped_column(default=0)
    added: so.Mapped[int] = so.mapped_column(default=0)
    skipped: so.Mapped[int] = so.mapped_column(default=0)
    refused: so.Mapped[int] = so.mapped_column(default=0)
    error: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    created_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    heartbeat_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    finished_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime(timezone=True))


class ImportEntry(db.Model):
    """What became of one file of an import: added, skipped as a duplicate, or refused."""

    __tablename__ = "import_entries"
    __table_args__ = (sa.UniqueConstraint("import_id", "position"), GROWING_IDS)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    import_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("imports.id", ondelete="CASCADE")
    )
    position: so.Mapped[int]
    name: so.Mapped[str] = so.mapped_column(sa.String(255))
    outcome: so.Mapped[str] = so.mapped_column(sa.String(8))
    message: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    workout_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("workouts.id", ondelete="SET NULL"), index=True
    )


class WorkoutTrack(db.Model):
    """What a file said about a workout beyond its row: when it started, its climb, its route.

    `route` is the track simplified to a few hundred points, as an encoded
    polyline (services/imports/track.py). (user_id, started_at) finds
    duplicates of a new import through the index.
    """

    __tablename__ = "workout_tracks"
    __table_args__ = (sa.Index("ix_workout_tracks_user_start", "user_id", "started_at"),)

    workout_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("workouts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    started_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True))
    duration_seconds: so.Mapped[float]
    elevation_gain_m: so.Mapped[float | None]
    route: so.Mapped[str] = so.mapped_column(sa.Text, default="")
    points: so.Mapped[int] = so.mapped_column(default=0)
