"""People and their signed-in browsers."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask_login import UserMixin

from fitness_app.extensions import db
from fitness_app.models.common import GROWING_IDS, utcnow


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


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = GROWING_IDS

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
    # The user's Web Push devices, kept by services/push/devices.py under the user's
    # lock (`recount`): a delivery reads it from the counter UPDATE it runs anyway and
    # hands nothing to the push dispatchers for a user without devices. Never low:
    # a removal that skipped its recount leaves it high, which costs one read.
    push_devices_count: so.Mapped[int] = so.mapped_column(default=0, server_default="0")

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
    __table_args__ = GROWING_IDS

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    user_id: so.Mapped[int] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    created_at: so.Mapped[datetime] = so.mapped_column(
        sa.DateTime(timezone=True), default=utcnow
    )
