"""A batch of claimed due rows, and what each kind's module makes of it.

A kind's module (`reminders`, `nudges`, `summaries`, `digest`) reads what it
needs for the whole batch at once and decides what to say; it writes
nothing. It hands back a `Work`: the notifications to store and the actions
for after COMMIT. The loop then writes the whole batch in a fixed number of
statements (`store.notify_many`, the due rows moved on) and commits, so every
computation comes before the first write: on SQLite a write takes the
database's one write lock until COMMIT, and the loop may only yield to other
requests before it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from fitness_app.extensions import socketio
from fitness_app.services.notifications.store import Draft

AfterCommit = Callable[[], None]
T = TypeVar("T")
#: Users a computation handles between two yields to the event loop.
YIELD_EVERY = 100


@dataclass(frozen=True)
class Claimed:
    """One due row, as claimed."""

    id: int
    kind: str
    user_id: int
    workout_id: int | None
    due_at: datetime


class TurnFailed(Exception):
    """A turn's work raised (not a database outage): its batch rolled back, these rows stay due."""

    def __init__(self, row_ids: list[int]) -> None:
        super().__init__(f"the work of due rows {row_ids[:5]}… ({len(row_ids)}) failed")
        self.row_ids = row_ids


@dataclass
class Work:
    """What a kind's module made of its claimed rows: notifications, then actions after COMMIT."""

    drafts: list[Draft] = field(default_factory=list)
    after_commit: list[AfterCommit] = field(default_factory=list)

    def add(self, other: Work) -> None:
        self.drafts += other.drafts
        self.after_commit += other.after_commit


def paced(items: Iterable[T]) -> Iterator[T]:
    """The items in order, yielding to the event loop after every YIELD_EVERY of them.

    For a batch's per-user computations, which come before its first write
    (never after it: see above), so that no request waits behind 500 users'
    wording at once.
    """
    for count, item in enumerate(items, 1):
        yield item
        if count % YIELD_EVERY == 0:
            socketio.sleep(0)
