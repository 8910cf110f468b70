"""The engine: SQLite tuning, a bounded connect to PostgreSQL, and a pool that heals itself.

- SQLite: WAL, a busy timeout and foreign keys on every connection.
- PostgreSQL: `connect_timeout`, so a connection attempt to a server that does
  not answer (stopped behind a firewall, a host that is gone) fails within
  DATABASE_CONNECT_TIMEOUT seconds instead of holding the request; a stopped
  server on a reachable host refuses at once anyway.
- Both: `pool_pre_ping`. After a restart every pooled connection is dead; the
  ping at checkout finds out, and SQLAlchemy then replaces it and every
  connection older than it, so requests succeed again as soon as the database
  does, without restarting the app.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa
from flask import Flask

from fitness_app import outages
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


def engine_options(app: Flask) -> dict[str, Any]:
    """SQLALCHEMY_ENGINE_OPTIONS for the app's database URL, before `db.init_app` reads them."""
    options = {"pool_pre_ping": True, **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "postgresql":
        options["connect_args"] = {
            "connect_timeout": app.config["DATABASE_CONNECT_TIMEOUT"],
            **options.get("connect_args", {}),
        }
    return options


def configure(app: Flask) -> None:
    """Called before `db.init_app`: the engine options depend on which database it is."""
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app)


def init_app(app: Flask) -> None:
    """Listen on this app's engines only (after `db.init_app` made them).

    Per engine, not on the Engine class: a class-level listener would reach
    every engine of the process, other apps' and tools' included.
    """
    outage = outages.state(app)

    def checked_out(*args: object) -> None:
        outage.answered()

    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                sa.event.listen(engine, "connect", _tune_sqlite)
            # After the pre-ping passed: the database answers.
            sa.event.listen(engine.pool, "checkout", checked_out)
