"""Small SQL helpers that differ by database dialect."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from fitness_app.extensions import db
from fitness_app.models import User


def insert_ignoring_duplicates(model: type, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row was really inserted.

    The unique constraint, not a read-then-write, decides who wins a race.
    """
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt = postgresql.insert(model).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(model).on_conflict_do_nothing()
    else:
        raise RuntimeError(f"unsupported database dialect {dialect!r}")
    # RETURNING, not rowcount: psycopg reports -1 for a conflict-ignoring INSERT.
    key = list(model.__table__.primary_key.columns)
    return db.session.execute(stmt.values(**values).returning(*key)).first() is not None


def lock_user_row(user_id: int) -> None:
    """Serialise one user's goal evaluations (SELECT … FOR UPDATE; SQLite locks the file)."""
    db.session.execute(sa.select(User.id).where(User.id == user_id).with_for_update())
