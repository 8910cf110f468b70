"""SQLite tuning: WAL, a busy timeout and foreign keys on every connection."""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa
from flask import Flask


def _tune_sqlite(dbapi_connection: object, connection_record: object) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    # WAL lets readers run during a write; NORMAL syncs at checkpoints, not every commit.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def init_app(app: Flask) -> None:
    if not sa.event.contains(sa.engine.Engine, "connect", _tune_sqlite):
        sa.event.listen(sa.engine.Engine, "connect", _tune_sqlite)
