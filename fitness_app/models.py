"""Database tables. Behaviour lives in `services/`; these classes only describe rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin

from fitness_app.extensions import db

ACTIVITIES = ("run", "ride", "swim", "walk", "strength", "yoga", "other")
NOTIFICATION_KINDS = (
    "workout_completed", "goal_achieved", "personal_record", "streak", "announcement"
)
#: Who sees a workout (services/social/visibility.py): its owner only, the owner's
#: accepted followers too, or every signed-in user.
VISIBILITIES = ("private", "followers", "public")


def utcnow() -> datetime:
    return datetime.now(UTC)


def latest_notification_id(context: Any) -> int:
    """The highest notification id at INSERT time: where a new user's history starts.

    Runs on the inserting connection, inside its transaction, so the user and
    the id it records commit together.
    """
    return context.connection.scalar(
        sa.select(sa.func.coalesce(sa.func.max(sa.column("id")), 0)).select_from(
            sa.table("notifications")
        )
    )


def owner_default_visibility(context: Any) -> str:
    """A new workout's visibility when none is given: its owner's `default_visibility`.

    A column default, so every way a workout is inserted (the form, an import,
    a script) follows the owner's setting, not only the form that shows it.
    """
    user_id = context.get_current_parameters().get("user_id")
    users = sa.table("users", sa.column("id"), sa.column("default_visibility"))
    chosen = context.connection.scalar(
        sa.select(users.c.default_visibility).where(users.c.id == user_id)
    )
    return chosen or "followers"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    username: so.Mapped[str] = so.mapped_column(sa.String(32), unique=True)
    email: so.Mapped[str] = so.mapped_column(sa.String(254), unique=True)
    password_hash: so.Mapped[str] = so.mapped_column(sa.String(256))
    is_admin: so.Mapped[bool] = so.mapped_column(default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    # Read state in three numbers, so no read grows with history
    # (services/notifications/unread_counts.py):
    # every notification with an id up to `read_through_id` is read; announcements
    # with an id up to `announcements_after_id` predate the user and are not theirs;
    # `unread_count` holds the user's unread personal rows above the watermark
    # minus the announcements above it read one by one. Announcements above the
    # watermark are added from their sequence numbers when the count is read.
    unread_count: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    read_through_id: so.Mapped[int] = so.mapped_column(
        default=latest_notification_id, server_default="0"
    )
    announcements_after_id: so.Mapped[int] = so.mapped_column(
        default=latest_notification_id, server_default="0"
    )
    # Settings (/settings/): an IANA zone name, quiet hours in that zone (both
    # or neither; they may wrap midnight), and muted kinds, comma-separated.
    timezone: so.Mapped[str] = so.mapped_column(
        sa.String(64), default="UTC", server_default="UTC"
    )
    quiet_start: so.Mapped[time | None] = so.mapped_column(sa.Time)
    quiet_end: so.Mapped[time | None] = so.mapped_column(sa.Time)
    muted: so.Mapped[str] = so.mapped_column(sa.String(128), default="", server_default="")
    # `metric` or `imperial`: what distances read in; they are stored in km (services/units.py).
    units: so.Mapped[str] = so.mapped_column(
        sa.String(8), default="metric", server_default="metric"
    )
    # How many goals the user has (services/training/goals.py keeps it): a completed
    # workout of a user without goals skips the goals query altogether.
    goal_count: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    # What the workout form offers first for a new workout (/settings/).
    default_visibility: so.Mapped[str] = so.mapped_column(
        sa.String(16), default="followers", server_default="followers"
    )
    # What comes on time (/settings/, services/schedule/): minutes of warning
    # before a planned workout (None: never), and the local wall-clock times of
    # the goal nudge, the weekly summary (on `summary_day`, mon..sun) and the
    # digest email; None means never.
    reminder_minutes: so.Mapped[int | None] = so.mapped_column(default=30, server_default="30")
    nudge_time: so.Mapped[time | None] = so.mapped_column(sa.Time)
    summary_day: so.Mapped[str | None] = so.mapped_column(sa.String(3))
    summary_time: so.Mapped[time | None] = so.mapped_column(sa.Time)
    digest_time: so.Mapped[time | None] = so.mapped_column(sa.Time)
    # Counters kept by services/social/follows.py in the transaction that moves
    # them, so a profile and the navigation never count rows: accepted follows
    # of and by the user, and the requests waiting for the user's answer.
    followers_count: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    following_count: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    follow_requests_count: so.Mapped[int] = so.mapped_column(default=0, server_default="0")

    # The login this object was loaded for (services/accounts/logins.py); not columns.
    login_token = None
    login_id = None

    def get_id(self) -> str:
        """What the session and remember-me cookies carry: the login's token, not the user id.

        Ending the login on the server then ends every cookie that names it,
        copies included.
        """
        if self.login_token is None:
            raise RuntimeError("sign in through fitness_app.services.logins.begin")
        return self.login_token

    def __eq__(self, other: object) -> bool:
        # UserMixin compares get_id(), which differs between two loads of one user.
        return self is other or (
            isinstance(other, User) and self.id is not None and self.id == other.id
        )

    __hash__ = UserMixin.__hash__

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class Login(db.Model):
    """One signed-in browser. Its session and remember-me cookies carry the token
    whose SHA-256 is stored here; deleting the row ends both, copies included."""

    __tablename__ = "logins"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )


class Workout(db.Model):
    __tablename__ = "workouts"
    __table_args__ = (
        sa.Index("ix_workouts_user_day", "user_id", "performed_on"),
        # Completed workouts of one owner and one visibility, newest first: the
        # feed and the profiles read one range of it per (owner, visibility)
        # they may see (services/social/visibility.py, `levels_for`), so no page grows with
        # history, nor walks past workouts the viewer may not see.
        sa.Index(
            "ix_workouts_shared",
            "user_id",
            "visibility",
            "performed_on",
            "id",
            postgresql_where=sa.text("completed_at IS NOT NULL"),
            sqlite_where=sa.text("completed_at IS NOT NULL"),
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE")
    )
    title: so.Mapped[str] = so.mapped_column(sa.String(120))
    activity: so.Mapped[str] = so.mapped_column(sa.String(16))
    duration_minutes: so.Mapped[int]
    distance_km: so.Mapped[float | None]
    performed_on: so.Mapped[date] = so.mapped_column(sa.Date)
    # When it starts, on the wall clock of the user's zone (the form's `time`);
    # optional. A planned workout with a time gets a reminder.
    start_time: so.Mapped[time | None] = so.mapped_column(sa.Time)
    # NULL while planned; set once, by a conditional UPDATE, when completed.
    completed_at: so.Mapped[datetime | None] = so.mapped_column(
        sa.DateTime(timezone=True)
    )
    created_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    visibility: so.Mapped[str] = so.mapped_column(
        sa.String(16), default=owner_default_visibility, server_default="followers"
    )
    # Kept by services/social/kudos.py and comments.py in the same transaction
    # as each change, so the page never counts rows.
    kudos_count: so.Mapped[int] = so.mapped_column(default=0, server_default="0")
    comments_count: so.Mapped[int] = so.mapped_column(default=0, server_default="0")

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


class Goal(db.Model):
    __tablename__ = "goals"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: so.Mapped[str] = so.mapped_column(sa.String(24))
    target: so.Mapped[float]
    period: so.Mapped[str] = so.mapped_column(sa.String(16))
    created_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    achievements: so.WriteOnlyMapped[Achievement] = so.relationship(
        back_populates="goal", cascade="all, delete-orphan", passive_deletes=True
    )


class Achievement(db.Model):
    """A goal reached within one period; the unique key makes it happen once."""

    __tablename__ = "achievements"
    __table_args__ = (sa.UniqueConstraint("goal_id", "period_key"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    goal_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("goals.id", ondelete="CASCADE")
    )
    period_key: so.Mapped[str] = so.mapped_column(sa.String(32))
    achieved_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    goal: so.Mapped[Goal] = so.relationship(back_populates="achievements")


class Notification(db.Model):
    """A stored notification. `user_id` NULL means an announcement to everyone."""

    __tablename__ = "notifications"
    # AUTOINCREMENT: SQLite would otherwise reuse the id of a deleted last row,
    # and clients rely on ids that only grow (`last_id` replay).
    __table_args__ = (
        sa.Index("ix_notifications_user_id_id", "user_id", "id"),
        sa.Index("uq_notifications_announcement_seq", "announcement_seq", unique=True),
        # Announcements only: "the last announcement at or below this id" is
        # then the first entry of a backward scan, however many personal
        # notifications lie between, and whatever the planner's statistics say.
        sa.Index(
            "ix_notifications_announcements",
            "id",
            "announcement_seq",
            postgresql_where=sa.text("user_id IS NULL"),
            sqlite_where=sa.text("user_id IS NULL"),
        ),
        {"sqlite_autoincrement": True},
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE")
    )
    # Indexed so deleting a user finds their announcements without a scan.
    author_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    kind: so.Mapped[str] = so.mapped_column(sa.String(24))
    title: so.Mapped[str] = so.mapped_column(sa.String(200))
    message: so.Mapped[str] = so.mapped_column(sa.String(500))
    data: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON, default=dict)
    created_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    read_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime(timezone=True))
    # 1, 2, 3… over announcements only (NULL on personal rows): how many
    # announcements lie between two ids is a subtraction, not a count.
    announcement_seq: so.Mapped[int | None]
    # Decided once, at creation: the page shows no popup for a silent one.
    silent: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    # The id, as a string, of the first notification of the action this one belongs
    # to (a completion, its goals, record and streak); NULL on that first one,
    # whose group is its own id (services/notifications/store.py).
    group_key: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    author: so.Mapped[User | None] = so.relationship(foreign_keys=[author_id])


class AnnouncementRead(db.Model):
    """An announcement one user read on its own, above their read watermark.

    Only single reads make these rows; "mark all read" moves the watermark and
    deletes the user's rows, so they never number users × announcements.
    """

    __tablename__ = "announcement_reads"

    notification_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True
    )
    # Indexed so deleting a user finds their read marks without a scan: the
    # primary key leads with notification_id.
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    read_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )


class PersonalRecord(db.Model):
    """A user's best so far for one activity and one measure: one row, never a rescan."""

    __tablename__ = "personal_records"

    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    activity: so.Mapped[str] = so.mapped_column(sa.String(16), primary_key=True)
    record: so.Mapped[str] = so.mapped_column(sa.String(24), primary_key=True)
    value: so.Mapped[float]
    performed_on: so.Mapped[date] = so.mapped_column(sa.Date)
    # The workout that holds the record; NULL once it is deleted (then recomputed).
    workout_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("workouts.id", ondelete="SET NULL")
    )
    set_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True), default=utcnow)


class Streak(db.Model):
    """A user's latest run of consecutive local days with a completed workout.

    `since`..`last_day` are the run's first and last days; `notified` is the
    highest milestone announced for this run, so each is announced once.
    """

    __tablename__ = "streaks"

    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    since: so.Mapped[date] = so.mapped_column(sa.Date)
    last_day: so.Mapped[date] = so.mapped_column(sa.Date)
    notified: so.Mapped[int] = so.mapped_column(default=0)


class WorkoutTotals(db.Model):
    """What a user's completed workouts add up to, all time: a counter, not a rescan."""

    __tablename__ = "workout_totals"

    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    workouts: so.Mapped[int] = so.mapped_column(default=0)
    duration_minutes: so.Mapped[int] = so.mapped_column(default=0)
    distance_km: so.Mapped[float] = so.mapped_column(default=0.0)


class Follow(db.Model):
    """One user following another: asked (`accepted` false) until the other accepts.

    The primary key answers "does A follow B"; the index lists B's followers
    in id order, in the batches of the feed fan-out, without reading the
    pending requests, and lets deleting a user find both sides.
    """

    __tablename__ = "follows"
    __table_args__ = (sa.Index("ix_follows_followee", "followee_id", "accepted", "follower_id"),)

    follower_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    followee_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    accepted: so.Mapped[bool] = so.mapped_column(default=False, server_default=sa.false())
    created_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )


class Block(db.Model):
    """`blocker` blocked `blocked`: neither sees, follows or answers the other."""

    __tablename__ = "blocks"

    blocker_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # Indexed: "blocked either way" looks both directions up, and deleting a
    # user finds the blocks against them.
    blocked_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )


class Kudos(db.Model):
    """`user` gave kudos to `workout`: once, by the primary key.

    `ix_kudos_workout_latest` lists a workout's latest givers without sorting
    them all; `ix_kudos_user` finds a user's kudos for the export and for
    account deletion (which takes them off the workouts' counters).
    """

    __tablename__ = "kudos"
    __table_args__ = (
        sa.Index("ix_kudos_workout_latest", "workout_id", "created_at"),
        sa.Index("ix_kudos_user", "user_id", "workout_id"),
    )

    workout_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("workouts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )


class Comment(db.Model):
    """A plain-text comment on a workout, seen by whoever may see the workout.

    AUTOINCREMENT: SQLite would otherwise reuse a deleted last comment's id,
    and a report or a page cursor would then name another comment.
    """

    __tablename__ = "comments"
    __table_args__ = (
        # The page, oldest first, in keyset pages.
        sa.Index("ix_comments_workout", "workout_id", "id"),
        # The distinct earlier commenters a new comment notifies, in batches.
        sa.Index("ix_comments_workout_user", "workout_id", "user_id"),
        # The export and account deletion.
        sa.Index("ix_comments_user", "user_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    workout_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("workouts.id", ondelete="CASCADE")
    )
    user_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    body: so.Mapped[str] = so.mapped_column(sa.String(1000))
    created_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )


class CommentReport(db.Model):
    """Someone asked the admins to look at a comment; open until resolved.

    One open report per reporter and comment (a partial unique index), so
    pressing Report again adds nothing; the partial `ix_comment_reports_open`
    lists the open ones for /admin/reports without reading the resolved.
    Deleting the comment deletes its reports.
    """

    __tablename__ = "comment_reports"
    __table_args__ = (
        sa.Index(
            "uq_comment_reports_open",
            "comment_id",
            "reporter_id",
            unique=True,
            postgresql_where=sa.text("resolved_at IS NULL"),
            sqlite_where=sa.text("resolved_at IS NULL"),
        ),
        sa.Index(
            "ix_comment_reports_open",
            "id",
            postgresql_where=sa.text("resolved_at IS NULL"),
            sqlite_where=sa.text("resolved_at IS NULL"),
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    comment_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("comments.id", ondelete="CASCADE")
    )
    reporter_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    reason: so.Mapped[str | None] = so.mapped_column(sa.String(500))
    created_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    # When an admin dismissed it; NULL while open.
    resolved_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime(timezone=True))


class WorkoutImport(db.Model):
    """One upload being read into workouts (services/imports/), file by file.

    `heartbeat_at` moves while a server works on it; an import left `queued` or
    `running` with an old heartbeat lost its server, and is resumed from
    `upload_path` or marked failed.
    """

    __tablename__ = "imports"

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
    __table_args__ = (sa.UniqueConstraint("import_id", "position"),)

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


class DueItem(db.Model):
    """Something to do at `due_at` (UTC): a reminder, a nudge, a summary, a digest.

    The scheduler (services/schedule/) claims the rows whose time has come
    through the `due_at` index, does the work and deletes the row (a reminder)
    or moves `due_at` to the next occurrence, all in one transaction. A
    reminder belongs to its workout (deleted with it); the daily and weekly
    kinds are one row per user and kind.
    """

    __tablename__ = "due_items"
    __table_args__ = (
        sa.Index("ix_due_items_due_at", "due_at"),
        sa.Index("ix_due_items_user_id", "user_id"),
        sa.Index(
            "uq_due_items_user_kind",
            "user_id",
            "kind",
            unique=True,
            postgresql_where=sa.text("workout_id IS NULL"),
            sqlite_where=sa.text("workout_id IS NULL"),
        ),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(16))
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE")
    )
    workout_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("workouts.id", ondelete="CASCADE"), unique=True
    )
    due_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime(timezone=True))


class PushDevice(db.Model):
    """A browser subscribed to Web Push: where to send, and the keys to encrypt for it.

    It belongs to the login session that subscribed it; ending that login
    (sign out, everywhere, a password change, account deletion) deletes it by
    ON DELETE CASCADE. `id` is random: it travels as `auth.device` and in URLs.
    """

    __tablename__ = "push_devices"

    id: so.Mapped[str] = so.mapped_column(sa.String(32), primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    login_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("logins.id", ondelete="CASCADE"), index=True
    )
    endpoint: so.Mapped[str] = so.mapped_column(sa.String(2048), unique=True)
    p256dh: so.Mapped[str] = so.mapped_column(sa.String(128))
    auth: so.Mapped[str] = so.mapped_column(sa.String(64))
    # What the devices page shows: "Chrome on Android", from the User-Agent.
    browser: so.Mapped[str] = so.mapped_column(sa.String(64))
    created_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
    # The last push the service accepted for it, or its last connection.
    last_used_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime(timezone=True))
