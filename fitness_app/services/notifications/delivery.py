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
  so the packets leave before the HTTP response is written;
- then the groups of users with push devices are handed to Web Push
  (`services/push`), which only queues them: devices without an open socket
  get theirs from a background dispatcher, never from the request. Whether a
  user has devices comes back from the counter UPDATE that stored the
  notification (`users.push_devices_count`), so a user without any costs the
  dispatchers nothing: no wake-up, no read.

A `delivery()` opened inside another joins it; the outer one commits.

One unit is one action, so it is also what groups notifications: whatever it
stores for one user shares a group keyed by the id of the first of them
(`notify(..., new_group=True)` starts another). `Delivery.groups()` hands
what it prepared over by (user, group), for senders that deliver once per
group, such as Web Push.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from fitness_app.extensions import db
from fitness_app.models import Notification
from fitness_app.realtime import push
from fitness_app.realtime.rooms import user_room
from fitness_app.services.notifications.links import FRESH
from fitness_app.services.notifications.payload import Stored, serialize
from fitness_app.services.notifications.unread_counts import unread_counts
from fitness_app.services.push import fanout


@dataclass(frozen=True)
class Group:
    """The notifications one unit stored for one user under one group key.

    `user_id` is None for an announcement (a group of its own, for everyone).
    `payloads` are the `notification` event payloads in id order; `audible`
    the ones that are not silent, so `lead`, the first of them, is the one
    a popup or a push shows on top (None: the group is all silent and shows
    nothing).
    """

    user_id: int | None
    key: str
    payloads: tuple[dict[str, Any], ...]

    @property
    def audible(self) -> list[dict[str, Any]]:
        return [p for p in self.payloads if not p["silent"]]

    @property
    def lead(self) -> dict[str, Any] | None:
        audible = self.audible
        return audible[0] if audible else None


class Delivery:
    """What one transaction will push once it commits."""

    def __init__(self) -> None:
        self.notifications: list[Notification | Stored] = []
        self.unread_users: set[int] = set()
        self.unread_known: dict[int, int] = {}
        self.with_devices: set[int] = set()
        self.abandoned = False
        self._group_of: dict[int, str] = {}
        self._prepared: list[tuple[int | None, dict[str, Any]]] = []

    def group_of(self, user_id: int) -> str | None:
        """The group this unit's next notification for the user joins; None: it starts one."""
        return self._group_of.get(user_id)

    def start_group(self, user_id: int, notification_id: int) -> None:
        """This notification leads a group: the user's later ones in this unit join it."""
        self._group_of[user_id] = str(notification_id)

    def groups(self) -> list[Group]:
        """What the unit prepared, one `Group` per (user, group key), in order of first id.

        Filled when the block ends, before COMMIT, and unchanged after it: a
        sender that runs after COMMIT (Web Push: one message per group and
        device) reads it there and queries nothing.
        """
        by_key: dict[tuple[int | None, str], list[dict[str, Any]]] = {}
        for user_id, payload in self._prepared:
            by_key.setdefault((user_id, payload["group"]), []).append(payload)
        found = [Group(user_id, key, tuple(sorted(payloads, key=lambda p: p["id"])))
                 for (user_id, key), payloads in by_key.items()]
        return sorted(found, key=lambda g: g.payloads[0]["id"])

    def add(self, notification: Notification | Stored) -> None:
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

    def devices_are(self, user_id: int, count: int) -> None:
        """The statement that stored a notification read the user's push device count."""
        if count > 0:
            self.with_devices.add(user_id)
        else:
            self.with_devices.discard(user_id)

    def pushable(self) -> list[Group]:
        """The groups Web Push has work for: announcements, and users with devices."""
        return [group for group in self.groups()
                if group.user_id is None or group.user_id in self.with_devices]

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
    groups = unit.pushable() if packets is not None else []
    if groups:
        fanout.hand_over((group.user_id, payload) for group in groups for payload in group.payloads)


def _prepare(unit: Delivery) -> list[tuple[str, dict[str, Any], str | None]]:
    """Flush, then turn the unit into packets while the transaction is still open."""
    db.session.flush()
    unit._prepared = [(n.user_id, serialize(n, FRESH)) for n in unit.notifications]
    packets: list[tuple[str, dict[str, Any], str | None]] = [
        ("notification", payload, user_room(user_id) if user_id is not None else None)
        for user_id, payload in unit._prepared
    ]
    counts = {**unit.unread_known, **unread_counts(unit.unread_users)}
    for user_id, count in counts.items():
        packets.append(("unread_count", {"count": count}, user_room(user_id)))
    return packets
