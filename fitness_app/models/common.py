"""What every table module shares: the clock for column defaults, and ids that never come back."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


#: Every table with an integer id keeps SQLite's AUTOINCREMENT: without it SQLite
#: hands the id of a deleted newest row to the next one, and clients rely on ids
#: that only grow and are never reused (`last_id` replay, de-duplication, a
#: notification's link to its workout). PostgreSQL's sequences never go back.
GROWING_IDS = {"sqlite_autoincrement": True}
