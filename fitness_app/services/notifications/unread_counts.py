"""Unread counts and unread flags, each a fixed number of index lookups.

A user's unread count is `users.unread_count` (personal rows above their read
watermark, minus announcements above it read one by one) plus the number of
announcements above the watermark, which is the difference of two
announcement sequence numbers: the newest one, and the last one at or below
the watermark. Neither grows with history.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import AnnouncementRead, Notification, User

BATCH = 500


def announcements_watermark(
    read_through: sa.ColumnElement[int], after: sa.ColumnElement[int]
) -> sa.ColumnElement[int]:
    """The id up to which every announcement is read or predates the user, in SQL."""
    return sa.case((read_through > after, read_through), else_=after)


def _seq_through(notification_id: sa.ColumnElement[int]) -> sa.ScalarSelect[Any]:
    """The sequence number of the last announcement at or below an id, by index."""
    return (
        sa.select(Notification.announcement_seq)
        .where(Notification.user_id.is_(None), Notification.id <= notification_id)
        .order_by(Notification.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def unread_expression() -> sa.ColumnElement[int]:
    """A user's unread count in SQL, over the `users` row in scope: two index lookups."""
    newest = sa.select(sa.func.max(Notification.announcement_seq)).scalar_subquery()
    watermark = announcements_watermark(User.read_through_id, User.announcements_after_id)
    announced = sa.func.coalesce(newest, 0) - sa.func.coalesce(_seq_through(watermark), 0)
    return User.unread_count + announced


@functools.cache
def _counts_statement() -> sa.Select[Any]:
    """Built once per process: rebuilt per call, its cache key costs more than running it."""
    return sa.select(User.id, unread_expression()).where(
        User.id.in_(sa.bindparam("ids", expanding=True))
    )


def unread_counts(user_ids: Iterable[int]) -> dict[int, int]:
    """Unread notifications per user, announcements included; one query per 500 users."""
    ids = sorted(set(user_ids))
    counts: dict[int, int] = {}
    for start in range(0, len(ids), BATCH):
        rows = db.session.execute(_counts_statement(), {"ids": ids[start : start + BATCH]})
        counts.update({user_id: max(0, count) for user_id, count in rows})
    return counts


def unread_count(user_id: int) -> int:
    return unread_counts([user_id]).get(user_id, 0)


def is_unread_for(user: User) -> sa.ColumnElement[bool]:
    """Whether a visible row is unread for `user`: a comparison and a primary-key probe."""
    read_one_by_one = sa.exists().where(
        AnnouncementRead.notification_id == Notification.id,
        AnnouncementRead.user_id == user.id,
    )
    watermark = max(user.read_through_id, user.announcements_after_id)
    return sa.or_(
        sa.and_(
            Notification.user_id.is_not(None),
            Notification.id > user.read_through_id,
            Notification.read_at.is_(None),
        ),
        sa.and_(Notification.user_id.is_(None), Notification.id > watermark, ~read_one_by_one),
    )


def unread_among(user: User, ids: Iterable[int]) -> set[int]:
    """Which of these notification ids are still unread for this user."""
    wanted = list(ids)
    if not wanted:
        return set()
    return set(
        db.session.scalars(
            sa.select(Notification.id).where(Notification.id.in_(wanted), is_unread_for(user))
        )
    )
