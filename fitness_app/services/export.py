"""Everything a user has, as one JSON document written piece by piece.

A user with ten years of workouts must not cost ten years of rows in memory, so
each section is read in keyset pages of PAGE_SIZE rows through an index, turned
into JSON, and let go. The transaction ends after every page, which hands the
database connection back to the pool while the browser downloads: a slow
download never holds a connection that other requests need. The format is
documented in docs/interface.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import Achievement, Goal, Notification, User, Workout
from fitness_app.services import notifications

FORMAT = "fitness_app.export"
VERSION = 1
PAGE_SIZE = 500
# Columns of `users` that stay out of an export. A column holding a secret goes here.
PRIVATE_USER_COLUMNS = ("password_hash",)
Row = dict[str, Any]


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return notifications.iso_utc(value)
    if isinstance(value, date | time):
        return value.isoformat()
    return value


def _columns(obj: Any, leave_out: Iterable[str] = ()) -> Row:
    """Every column of a row, so a column added later is exported too."""
    skip = set(leave_out)
    return {
        attr.key: _value(getattr(obj, attr.key))
        for attr in sa.inspect(type(obj)).column_attrs
        if attr.key not in skip
    }


def profile(user: User) -> Row:
    """Every column of the user but the password hash: settings added later come along."""
    return _columns(user, PRIVATE_USER_COLUMNS)


def _workouts(user_id: int) -> Iterator[list[Row]]:
    """Oldest first, by (performed_on, id): the order of the ix_workouts_user_day index."""
    after: tuple[date, int] | None = None
    while True:
        query = sa.select(Workout).where(Workout.user_id == user_id)
        if after is not None:
            query = query.where(sa.tuple_(Workout.performed_on, Workout.id) > after)
        rows = db.session.scalars(
            query.order_by(Workout.performed_on, Workout.id).limit(PAGE_SIZE)
        ).all()
        if not rows:
            return
        after = (rows[-1].performed_on, rows[-1].id)
        yield [_columns(w, ["user_id"]) | {"completed": w.completed} for w in rows]


def _pages_by_id(query: sa.Select[Any], id_column: Any, row: Any) -> Iterator[list[Row]]:
    """Keyset pages of `query` in id order, each row turned into a dict by `row`."""
    after = 0
    while True:
        items = db.session.scalars(
            query.where(id_column > after).order_by(id_column).limit(PAGE_SIZE)
        ).all()
        if not items:
            return
        after = items[-1].id
        yield [row(item) for item in items]


def _goals(user_id: int) -> Iterator[list[Row]]:
    return _pages_by_id(
        sa.select(Goal).where(Goal.user_id == user_id), Goal.id, lambda g: _columns(g, ["user_id"])
    )


def _achievements(user_id: int) -> Iterator[list[Row]]:
    query = (
        sa.select(Achievement)
        .join(Goal, Goal.id == Achievement.goal_id)
        .where(Goal.user_id == user_id)
    )
    return _pages_by_id(query, Achievement.id, _columns)


def _notifications(user_id: int) -> Iterator[list[Row]]:
    """The inbox, oldest first, announcements included, each with its read state."""
    after = 0
    while True:
        user = db.session.get(User, user_id)
        rows = notifications.list_after(user, after, PAGE_SIZE)
        if not rows:
            return
        after = rows[-1].id
        unread = notifications.unread_among(user, [n.id for n in rows])
        yield [_notification(n, n.id not in unread) for n in rows]


def _notification(notification: Notification, read: bool) -> Row:
    row = _columns(notification, ["user_id", "author_id"])
    return row | {"announcement": notification.user_id is None, "read": read}


SECTIONS = {
    "workouts": _workouts,
    "goals": _goals,
    "achievements": _achievements,
    "notifications": _notifications,
}


def stream(user_id: int, exported_at: datetime) -> Iterator[str]:
    """The export document in pieces of at most one page each."""
    user = db.session.get(User, user_id)
    head = {"format": FORMAT, "version": VERSION, "exported_at": _value(exported_at)}
    yield json.dumps(head)[:-1] + ', "profile": ' + json.dumps(profile(user))
    for name, pages in SECTIONS.items():
        yield f', "{name}": ['
        separator = ""
        for page in pages(user_id):
            yield separator + ", ".join(json.dumps(row) for row in page)
            separator = ", "
            # End the read transaction: the connection goes back to the pool
            # while this page travels to the browser.
            db.session.rollback()
        yield "]"
    yield "}\n"
