"""Storing notifications: one row per user event, one row per announcement.

`notify` adds a row to the current `delivery()` unit, which pushes it once the
transaction commits; `notify_many` adds many users' rows at once (a scheduler
batch) in a fixed number of statements. Each notification and the unread
counter it moves are written in the same transaction.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import Notification, User, utcnow
from fitness_app.services import preferences
from fitness_app.services.notifications.delivery import current, delivery
from fitness_app.services.notifications.payload import Stored
from fitness_app.services.notifications.unread_counts import unread_expression
from fitness_app.services.sql import lock_everyone, lock_user, lock_users


@functools.cache
def _one_more_unread() -> sa.Update:
    """Count one more unread and return the new total, announcements included, and
    the user's number of push devices.

    RETURNING saves the count query the push would otherwise need, and tells the
    unit whether Web Push has anything to do for this user. Built once per
    process, like the count query: this runs on every notification.
    """
    users = User.__table__  # a Core UPDATE: the ORM's bulk-update machinery costs more
    return (
        sa.update(users)
        .where(users.c.id == sa.bindparam("user_id"))
        .values(unread_count=users.c.unread_count + 1)
        .returning(unread_expression(), users.c.push_devices_count)
    )


def notify(
    user_id: int | None,
    kind: str,
    title: str,
    message: str,
    data: dict[str, Any] | None = None,
    silent: bool | None = None,
    author_id: int | None = None,
    new_group: bool = False,
) -> Notification:
    """Store a notification in the current `delivery()`; it is pushed once that commits.

    `user_id` None makes it an announcement for every user. The lock taken
    first keeps ids in commit order for everyone who sees the row, and keeps
    the counter and the watermark of "mark all read" consistent. `silent`
    None lets the user's settings decide (muted kinds, quiet hours);
    announcements are never silent.

    Groups: one unit of work is one action, so everything it stores for one
    user shares a group (one popup, one Web Push), keyed by the id of the
    first of them. A unit that stores unrelated notifications for one user
    passes `new_group=True` on each unrelated one (`notify_many`, for a
    scheduler's batch, does so for every draft): it starts a group of its
    own, which the user's later notifications in the unit join. An
    announcement is always a group of its own.

    The row is written at once by a Core INSERT ... RETURNING, not left to the
    ORM's flush: this runs on every completed workout, and the unit of work
    cost several times the statement. The object returned carries the stored
    values for the push; it is not in the session.
    """
    unit = current()
    if user_id is None or kind == "announcement":
        silent = False
    elif silent is None:
        silent = preferences.silent_for(user_id, kind)
    leader = None if user_id is None or new_group else unit.group_of(user_id)
    values = {
        "user_id": user_id, "author_id": author_id, "kind": kind, "title": title,
        "message": message, "data": data or {}, "created_at": utcnow(), "silent": silent,
        "group_key": leader,
    }
    if user_id is None:
        lock_everyone()
        stored = db.session.execute(_insert_announcement(), values).one()
    else:
        lock_user(user_id)
        unread, devices = db.session.execute(_one_more_unread(), {"user_id": user_id}).one()
        unit.unread_is(user_id, unread)
        unit.devices_are(user_id, devices)
        stored = db.session.execute(_insert_notification(), values).one()
        if leader is None:
            unit.start_group(user_id, stored.id)
    notification = Notification(
        id=stored.id, announcement_seq=stored.announcement_seq, read_at=None, **values
    )
    unit.add(notification)
    return notification


@functools.cache
def _insert_notification() -> sa.Insert:
    """Built once per process: one personal notification."""
    table = Notification.__table__
    return sa.insert(table).returning(table.c.id, table.c.announcement_seq)


@functools.cache
def _insert_announcement() -> sa.Insert:
    """Built once per process: one announcement, numbered after the last one (under
    the announcement lock, so numbers follow commit order too)."""
    table = Notification.__table__
    newest = sa.select(sa.func.coalesce(sa.func.max(table.c.announcement_seq), 0) + 1)
    return (
        sa.insert(table)
        .values(announcement_seq=newest.scalar_subquery())
        .returning(table.c.id, table.c.announcement_seq)
    )


@dataclass(frozen=True)
class Draft:
    """One personal notification for `notify_many`, its silence already decided.

    A batch's caller reads its users' settings as rows, so it decides
    `silent` itself (`preferences.is_silent`): a per-user lookup here would
    cost a query each.
    """

    user_id: int
    kind: str
    title: str
    message: str
    data: dict[str, Any]
    silent: bool


def notify_many(drafts: Sequence[Draft]) -> list[Stored]:
    """Store many users' notifications in the current `delivery()`: pushed once it commits.

    The batched `notify(..., new_group=True)`: each draft starts a group of its
    own (one popup, one push), which its user's later notifications in the
    unit join. Whatever the number of drafts, it costs one lock statement
    (`lock_users`: ascending ids, so it never deadlocks with another batch),
    one counter UPDATE … RETURNING per distinct increment (a scheduler batch,
    one notification per user: one), and one INSERT … RETURNING of every row
    (SQLAlchemy's "insertmanyvalues": multi-row VALUES pages, ids handed back
    in the drafts' order). One `notify` per user was three round trips each.
    """
    if not drafts:
        return []
    unit = current()
    lock_users(draft.user_id for draft in drafts)
    by_increment: dict[int, list[int]] = defaultdict(list)
    for user_id, count in Counter(draft.user_id for draft in drafts).items():
        by_increment[count].append(user_id)
    for increment, user_ids in by_increment.items():
        counted = db.session.execute(_more_unread(), {"ids": user_ids, "increment": increment})
        for user_id, unread, devices in counted:
            unit.unread_is(user_id, unread)
            unit.devices_are(user_id, devices)
    created_at = utcnow()
    rows = [
        {"user_id": draft.user_id, "author_id": None, "kind": draft.kind, "title": draft.title,
         "message": draft.message, "data": draft.data, "created_at": created_at,
         "silent": draft.silent, "group_key": None}
        for draft in drafts
    ]
    ids = db.session.execute(_insert_many(), rows).scalars().all()
    stored = []
    for draft, notification_id in zip(drafts, ids, strict=True):
        unit.start_group(draft.user_id, notification_id)
        notification = Stored(notification_id, draft.user_id, draft.kind, draft.title,
                              draft.message, draft.data, created_at, draft.silent)
        unit.add(notification)
        stored.append(notification)
    return stored


@functools.cache
def _more_unread() -> sa.Update:
    """Count `increment` more unread for each of `ids`; RETURNING each new total and
    number of push devices."""
    users = User.__table__
    return (
        sa.update(users)
        .where(users.c.id.in_(sa.bindparam("ids", expanding=True)))
        .values(unread_count=users.c.unread_count + sa.bindparam("increment"))
        .returning(users.c.id, unread_expression(), users.c.push_devices_count)
    )


@functools.cache
def _insert_many() -> sa.Insert:
    """Built once per process: many personal notifications, ids in parameter order."""
    table = Notification.__table__
    return sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)


def announce(author: User | None, message: str) -> Notification:
    """Store one announcement row for everyone, then emit it once to every connection.

    Badges are not refreshed here: `badges.refresh_online` does that in
    batches, after the response.
    """
    with delivery():
        notification = notify(
            None,
            "announcement",
            "Announcement",
            message,
            {"author": author.username if author else None},
            author_id=author.id if author else None,
        )
    return notification
