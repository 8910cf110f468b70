"""SQLite tuning: WAL, a busy timeout and foreign keys on every connection of the app's engines."""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa
from flask import Flask

from fitness_app.extensions import db


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
    """Listen on this app's SQLite engines only (after `db.init_app` made them).

    Per engine, not on the Engine class: a class-level listener would reach
    every engine of the process, other apps' and tools' included.
    """
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                sa.event.listen(engine, "connect", _tune_sqlite)
