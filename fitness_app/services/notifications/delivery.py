"""The unit of work that stores, commits, and then pushes: `with delivery(): ...`.

Every service that writes something a browser must hear about runs it inside
`delivery()`. On leaving the block the unit flushes, serialises the
notifications it was given and reads the unread counts it was told changed,
all inside the transaction; then it commits, and only then pushes the
prepared packets through `push.fan_out`. So:

- a transaction that rolls back (an exception in the block, or `abandon()`)
  pushes nothing;
- the push runs no query: everything it sends was read before COMMIT;
- the push happens before the request returns, and `push.fan_out` yields once
  so the packets leave before the HTTP response is written.

A `delivery()` opened inside another joins it; the outer one commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from fitness_app.extensions import db
from fitness_app.models import Notification
from fitness_app.realtime import push
from fitness_app.realtime.rooms import user_room
from fitness_app.services.notifications.links import FRESH
from fitness_app.services.notifications.payload import serialize
from fitness_app.services.notifications.unread_counts import unread_counts


class Delivery:
    """What one transaction will push once it commits."""

    def __init__(self) -> None:
        self.notifications: list[Notification] = []
        self.unread_users: set[int] = set()
        self.unread_known: dict[int, int] = {}
        self.abandoned = False

    def add(self, notification: Notification) -> None:
        """Push this row, to its user's room or to everyone, after COMMIT.

        The user's new count comes from `unread_is`: `notify` has it already.
        """
        self.notifications.append(notification)

    def unread_changed(self, user_id: int) -> None:
        """Push this user's new unread count after COMMIT, read again before it."""
        self.unread_known.pop(user_id, None)
        self.unread_users.add(user_id)

    def unread_is(self, user_id: int, count: int) -> None:
        """The statement that just changed the count returned it: push that, read nothing."""
        self.unread_users.discard(user_id)
        self.unread_known[user_id] = max(0, count)

    def abandon(self) -> None:
        """Roll back: the block changed nothing worth a COMMIT, so nothing is pushed."""
        db.session.rollback()
        self.abandoned = True


_current: ContextVar[Delivery | None] = ContextVar("fitness_delivery", default=None)


def current() -> Delivery:
    """The unit of work the caller runs in; notifying outside one is a bug."""
    unit = _current.get()
    if unit is None:
        raise RuntimeError("notifications are stored inside `with delivery():` only")
    return unit


@contextmanager
def delivery() -> Iterator[Delivery]:
    """Run the block as one transaction; commit it, then push what it stored."""
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    unit = Delivery()
    token = _current.set(unit)
    try:
        yield unit
        packets = None if unit.abandoned else _prepare(unit)
        if packets is not None:
            db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        _current.reset(token)
    if packets:
        push.fan_out(packets)


def _prepare(unit: Delivery) -> list[tuple[str, dict[str, Any], str | None]]:
    """Flush, then turn the unit into packets while the transaction is still open."""
    db.session.flush()
    packets: list[tuple[str, dict[str, Any], str | None]] = [
        (
            "notification",
            serialize(n, FRESH),
            user_room(n.user_id) if n.user_id is not None else None,
        )
        for n in unit.notifications
    ]
    counts = {**unit.unread_known, **unread_counts(unit.unread_users)}
    for user_id, count in counts.items():
        packets.append(("unread_count", {"count": count}, user_room(user_id)))
    return packets
