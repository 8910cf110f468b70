"""Browsers subscribed to Web Push (services/push/)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from fitness_app.extensions import db
from fitness_app.models.common import utcnow


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
