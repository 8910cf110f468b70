"""Who follows whom, and who blocked whom."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from fitness_app.extensions import db
from fitness_app.models.common import utcnow


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
