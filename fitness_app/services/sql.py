"""Small SQL helpers that differ by database dialect."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from fitness_app.extensions import db

# Advisory lock keys, as (class, object) pairs of 32-bit integers: one class
# for per-user locks, one key for the lock that announcements take.
_USER_LOCKS = 0x46495455  # "FITU"
_EVERYONE_LOCK = (0x46495441, 0)  # "FITA"


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _insert(model: type) -> Any:
    dialect = _dialect()
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise RuntimeError(f"unsupported database dialect {dialect!r}")


def insert_ignoring_duplicates(model: type, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row was really inserted.

    The unique constraint, not a read-then-write, decides who wins a race.
    """
    stmt = _insert(model).on_conflict_do_nothing()
    # RETURNING, not rowcount: psycopg reports -1 for a conflict-ignoring INSERT.
    key = list(model.__table__.primary_key.columns)
    return db.session.execute(stmt.values(**values).returning(*key)).first() is not None


def lock_user(user_id: int) -> None:
    """Serialise the transactions that notify one user or evaluate their goals.

    Held until COMMIT, for two reasons. Goal evaluation must see the workouts
    of a racing completion, so the second evaluation waits for the first
    commit. And notification ids must follow commit order, because clients
    replay from the highest id they saw (`last_id`): a PostgreSQL sequence
    hands out ids at INSERT, so without the lock a row that took id 10 could
    commit after id 11 was delivered and never be replayed.

    PostgreSQL: a transaction-scoped advisory lock on the user, taken after a
    shared hold of the announcement lock (always in that order: no deadlock).
    Not `SELECT … FOR UPDATE` on the users row: every INSERT that references
    the user takes FOR KEY SHARE on that row, and two such transactions that
    then both ask for FOR UPDATE deadlock. SQLite serialises writers already.
    """
    if _dialect() != "postgresql":
        return
    # The MATERIALIZED CTE yields its row, taking the shared lock, before the
    # outer SELECT evaluates the user lock: one round trip, a fixed order.
    db.session.execute(
        sa.text(
            "WITH everyone AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(:cls, :obj))"
            " SELECT pg_advisory_xact_lock(:users, :user_id) FROM everyone"
        ),
        {"cls": _EVERYONE_LOCK[0], "obj": _EVERYONE_LOCK[1], "users": _USER_LOCKS,
         "user_id": user_id},
    )


def lock_users(user_ids: Iterable[int]) -> None:
    """`lock_user` for several users at once: one round trip, in ascending id order.

    For a transaction that notifies many users (a scheduler batch). Always in
    one order, so two such transactions never wait for each other in a cycle;
    `lock_user` on a user already locked here returns at once (advisory locks
    are re-entrant within a session). The ids are sorted here, and `unnest`
    hands them to the lock function in array order.
    """
    ids = sorted(set(user_ids))
    if not ids or _dialect() != "postgresql":
        return
    db.session.execute(
        sa.text(
            "WITH everyone AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(:cls, :obj))"
            " SELECT pg_advisory_xact_lock(:users, u)"
            " FROM everyone, unnest(CAST(:ids AS integer[])) AS u"
        ),
        {"cls": _EVERYONE_LOCK[0], "obj": _EVERYONE_LOCK[1], "users": _USER_LOCKS, "ids": ids},
    )


def lock_everyone() -> None:
    """Serialise an announcement, which every user sees, against all notifying transactions.

    Held until COMMIT; see `lock_user` for why ids must follow commit order.
    A transaction takes either this lock or user locks, never both.
    """
    if _dialect() != "postgresql":
        return
    db.session.execute(
        sa.text("SELECT pg_advisory_xact_lock(:cls, :obj)"),
        {"cls": _EVERYONE_LOCK[0], "obj": _EVERYONE_LOCK[1]},
    )
