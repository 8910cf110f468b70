"""Notifications: stored first, pushed to the user's room only after the commit.

Services call `notify` inside their transaction. The row is flushed with the
workout or achievement that caused it; a session hook serialises it just
before COMMIT and emits it just after, so a rolled-back transaction notifies
nobody and no emit path needs a database query of its own.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask

from fitness_app.extensions import db, socketio
from fitness_app.models import AnnouncementRead, Notification, User, utcnow
from fitness_app.realtime import presence, push
from fitness_app.realtime.rooms import user_room
from fitness_app.services import preferences
from fitness_app.services.sql import (
    insert_from_select_ignoring_duplicates,
    insert_ignoring_duplicates,
    lock_everyone,
    lock_user,
)

_PENDING = "fitness_outbox_pending"
_READY = "fitness_outbox_ready"
_COMMITTED = "fitness_outbox_committed"


@dataclass
class _Outbox:
    notifications: list[Notification] = field(default_factory=list)
    unread_users: set[int] = field(default_factory=set)


def _outbox(session: so.Session) -> _Outbox:
    return session.info.setdefault(_PENDING, _Outbox())


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`; SQLite hands datetimes back without a zone."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def serialize(notification: Notification) -> dict[str, Any]:
    """The `notification` event payload named in the interface contract."""
    return {
        "id": notification.id,
        "kind": notification.kind,
        "title": notification.title,
        "message": notification.message,
        "created_at": iso_utc(notification.created_at),
        "data": notification.data or {},
        "url": page_for(notification),
        "silent": bool(notification.silent),
    }


def page_for(notification: Notification) -> str:
    """The local path a popup or inbox row leads to: the page the notification is about.

    Literal paths rather than `url_for`, because `flask announce` serialises
    outside any request, where `url_for` cannot build URLs.
    """
    data = notification.data or {}
    if notification.kind == "workout_completed" and isinstance(data.get("workout_id"), int):
        return f"/workouts/{data['workout_id']}/edit"
    if notification.kind == "workout_completed":
        return "/workouts/"
    if notification.kind in ("goal_achieved", "personal_record", "streak"):
        return "/goals/"
    if notification.kind == "announcement":
        return "/notifications/"
    return "/"


def notify(
    user_id: int | None,
    kind: str,
    title: str,
    message: str,
    data: dict[str, Any] | None = None,
    silent: bool | None = None,
) -> Notification:
    """Add a notification to the current transaction; it is pushed once that commits.

    `user_id` None makes it an announcement for every user. The lock taken
    first keeps ids in commit order for everyone who sees the row. `silent`
    None lets the user's settings decide (muted kinds, quiet hours);
    announcements are never silent.
    """
    if user_id is None or kind == "announcement":
        silent = False
    elif silent is None:
        silent = preferences.silent_for(user_id, kind)
    if user_id is None:
        lock_everyone()
    else:
        lock_user(user_id)
    notification = Notification(
        user_id=user_id, kind=kind, title=title, message=message, data=data or {},
        silent=silent,
    )
    db.session.add(notification)
    outbox = _outbox(db.session())
    outbox.notifications.append(notification)
    if user_id is not None:
        outbox.unread_users.add(user_id)
    return notification


def unread_changed(user_id: int) -> None:
    """Note that a user's unread count changes when the current transaction commits."""
    _outbox(db.session()).unread_users.add(user_id)


def visible_to(user: User) -> sa.ColumnElement[bool]:
    """Rows a user may see: their own, and announcements made since they joined."""
    return sa.or_(
        Notification.user_id == user.id,
        sa.and_(Notification.user_id.is_(None), Notification.created_at >= user.created_at),
    )


def is_unread_for(user_id: sa.ColumnElement[int]) -> sa.ColumnElement[bool]:
    # correlate_except: `users` must come from the enclosing query, not be
    # joined anew here, or one user's read would count for everybody.
    read = (
        sa.exists()
        .where(
            AnnouncementRead.notification_id == Notification.id,
            AnnouncementRead.user_id == user_id,
        )
        .correlate_except(AnnouncementRead)
    )
    return sa.or_(
        sa.and_(Notification.user_id.is_not(None), Notification.read_at.is_(None)),
        sa.and_(Notification.user_id.is_(None), ~read),
    )


@functools.cache
def _unread_counts_statement() -> sa.Select[Any]:
    """The unread-count query, built once per process.

    It runs on every notification and every connect. Rebuilt each time, its
    construction and SQLAlchemy's cache key for it cost four times what
    executing it does; a statement object built once keeps its cache key.
    """
    personal = (
        sa.select(sa.func.count(Notification.id))
        .where(Notification.user_id == User.id, Notification.read_at.is_(None))
        .scalar_subquery()
    )
    announcements = (
        sa.select(sa.func.count(Notification.id))
        .where(
            Notification.user_id.is_(None),
            Notification.created_at >= User.created_at,
            is_unread_for(User.id),
        )
        .scalar_subquery()
    )
    return sa.select(User.id, personal + announcements).where(
        User.id.in_(sa.bindparam("ids", expanding=True))
    )


def unread_counts(user_ids: Iterable[int]) -> dict[int, int]:
    """Unread notifications per user, announcements included, in a few queries."""
    ids = sorted(set(user_ids))
    counts: dict[int, int] = {}
    for start in range(0, len(ids), 500):
        rows = db.session.execute(_unread_counts_statement(), {"ids": ids[start : start + 500]})
        counts.update({user_id: count for user_id, count in rows})
    return counts


def unread_count(user_id: int) -> int:
    return unread_counts([user_id]).get(user_id, 0)


def list_after(user: User, after: int, limit: int) -> list[Notification]:
    """The user's notifications with an id above `after`, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Notification)
            .where(visible_to(user), Notification.id > after)
            .order_by(Notification.id)
            .limit(limit)
        )
    )


def inbox_query(user: User) -> sa.Select[Any]:
    """Everything the user may see, newest first."""
    return sa.select(Notification).where(visible_to(user)).order_by(Notification.id.desc())


def unread_among(user: User, ids: Iterable[int]) -> set[int]:
    """Which of these notification ids are still unread for this user."""
    return set(
        db.session.scalars(
            sa.select(Notification.id).where(
                Notification.id.in_(list(ids)), is_unread_for(sa.literal(user.id))
            )
        )
    )


def latest_id(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.max(Notification.id)).where(visible_to(user))) or 0


def mark_read(user: User, notification_id: int) -> bool:
    """Mark one notification read. False when it is not the user's to read."""
    notification = db.session.scalar(
        sa.select(Notification).where(Notification.id == notification_id, visible_to(user))
    )
    if notification is None:
        return False
    if notification.user_id is None:
        changed = insert_ignoring_duplicates(
            AnnouncementRead, {"notification_id": notification.id, "user_id": user.id}
        )
    else:
        changed = db.session.execute(
            sa.update(Notification)
            .where(Notification.id == notification.id, Notification.read_at.is_(None))
            .values(read_at=utcnow())
        ).rowcount
    if changed:
        unread_changed(user.id)
    db.session.commit()
    return True


def mark_all_read(user: User) -> None:
    now = utcnow()
    db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=now)
    )
    unread_announcements = sa.select(
        Notification.id, sa.literal(user.id), sa.literal(now)
    ).where(
        Notification.user_id.is_(None),
        Notification.created_at >= user.created_at,
        is_unread_for(sa.literal(user.id)),
    )
    insert_from_select_ignoring_duplicates(
        AnnouncementRead, ["notification_id", "user_id", "read_at"], unread_announcements
    )
    unread_changed(user.id)
    db.session.commit()


def announce(author: User | None, message: str) -> Notification:
    """Store one announcement row for everyone, then emit it once to every connection."""
    notification = notify(
        None,
        "announcement",
        "Announcement",
        message,
        {"author": author.username if author else None},
    )
    notification.author_id = author.id if author else None
    db.session.commit()
    return notification


def push_unread_counts_to_online() -> None:
    """After an announcement, refresh the badge of every user online now.

    Users are grouped by count so the server sends one emit per distinct
    count, not one per user.
    """
    by_count: dict[int, list[str]] = {}
    for user_id, count in unread_counts(presence.online_user_ids()).items():
        by_count.setdefault(count, []).append(user_room(user_id))
    for count, rooms in by_count.items():
        push.emit("unread_count", {"count": count}, to=rooms)


def _prepare(session: so.Session) -> None:
    outbox: _Outbox | None = session.info.pop(_PENDING, None)
    if not outbox:
        return
    session.flush()
    messages = [
        (user_room(n.user_id) if n.user_id is not None else None, serialize(n))
        for n in outbox.notifications
    ]
    counts = unread_counts(outbox.unread_users) if outbox.unread_users else {}
    session.info[_READY] = (messages, counts)


def _committed(session: so.Session) -> None:
    """The transaction committed: what `_prepare` serialised may now be sent."""
    ready = session.info.pop(_READY, None)
    if ready:
        session.info[_COMMITTED] = ready


def _deliver(session: so.Session, transaction: so.SessionTransaction) -> None:
    """Emit what the transaction committed, once it has ended.

    By now its connection is back in the pool, so the yield below keeps no
    other request waiting for one (or opening another). Under eventlet an emit
    only queues packets for each socket's writer; the yield sends them now,
    not after the request has rendered and sent its own response.
    """
    if transaction.parent is not None:
        return
    ready = session.info.pop(_COMMITTED, None)
    if not ready:
        return
    messages, counts = ready
    with _collector_paused():
        for room, payload in messages:
            push.emit("notification", payload, to=room)
        for user_id, count in counts.items():
            push.emit("unread_count", {"count": count}, to=user_room(user_id))
        socketio.sleep(0)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No garbage collection while a fan-out's packets are queued and being sent.

    A broadcast allocates per recipient, and every object stays alive until
    its socket's writer has sent it, so a young collection in the middle
    walks them all: 0.2-0.5 s with 15,000 sockets. Paused, the collection
    comes after, when they are garbage.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _discard(session: so.Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_READY, None)
    session.info.pop(_COMMITTED, None)


def init_app(app: Flask) -> None:
    """Hook the outbox into every ORM session: serialise before COMMIT, emit after it."""
    for name, handler in (
        ("before_commit", _prepare),
        ("after_commit", _committed),
        ("after_transaction_end", _deliver),
        ("after_rollback", _discard),
    ):
        if not sa.event.contains(so.Session, name, handler):
            sa.event.listen(so.Session, name, handler)
