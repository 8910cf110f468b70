"""The database is away: what counts as an outage, and how everyone waits it out.

PostgreSQL restarting for an upgrade, a failover, SQLite locked past its busy
timeout: for a while every query fails, then everything works again. That is
an outage, not a bug, and each path meets it in its own way:

- a request gets 503 with `Retry-After` (fitness_app/errors/handlers.py);
- a socket event gets the ack `{"ok": false, "error": "unavailable"}`, and a
  socket connecting meanwhile is refused with "unavailable", which the page's
  client retries (fitness_app/sockets/events.py);
- a background task (mail, the resend after a Redis gap, badges) waits with
  `retry_through` and carries on once the database answers.

The pool heals itself: `pool_pre_ping` replaces connections the outage broke
(fitness_app/database.py), so the first request after the database's return
succeeds without a restart. Each outage is logged twice per process, when it
begins and when it ends, rather than once per failed request.

What is not an outage stays a bug and a 500: a syntax error, a constraint
violated, a statement timeout.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from flask import Flask, current_app

from fitness_app.extensions import db, socketio

log = logging.getLogger(__name__)
T = TypeVar("T")

# SQLite's primary result codes that mean "not now" rather than "wrong": busy
# past the busy timeout, locked, the file cannot be opened, I/O failed, disk full.
_SQLITE_OUTAGE_CODES = frozenset({
    sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_FULL, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PROTOCOL,
})
# PostgreSQL's SQLSTATEs for the same: connection exceptions (08), insufficient
# resources such as too many connections (53), the server shutting down,
# crashed or still starting (57P01-57P05), and system errors (58).
_POSTGRES_OUTAGE_STATES = ("08", "53", "57P", "58")
_EXTENSION_KEY = "fitness_outage"


def is_database_outage(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached now, as opposed to a bug."""
    if isinstance(error, sa.exc.TimeoutError):
        return True  # the pool had no connection to give within pool_timeout
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True  # the dialect saw the connection die under the statement
    driver_error = error.orig
    if isinstance(driver_error, sqlite3.Error):
        code = getattr(driver_error, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _SQLITE_OUTAGE_CODES
    if not isinstance(error, (sa.exc.OperationalError, sa.exc.InterfaceError)):
        return False
    state = getattr(driver_error, "sqlstate", None)
    # No SQLSTATE: the driver failed on its side of the wire (connection refused,
    # timed out, closed), so nothing reached a server that could name the error.
    return state is None or state.startswith(_POSTGRES_OUTAGE_STATES)


def describe(error: BaseException) -> str:
    """One line for the log: the driver's class and the first line of its message."""
    cause = getattr(error, "orig", None) or error
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first_line}"


class Outage:
    """One process's view of the database's health, so each outage is logged once.

    `noted` marks what met the outage (a request, an event, a task); the first
    one logs its start. `answered` is called on every pool checkout that passed
    its ping, and logs the end; while the database is healthy it reads one
    attribute and returns.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.began: float | None = None
        self.refused = 0

    def noted(self, error: BaseException) -> None:
        with self._lock:
            self.refused += 1
            if self.began is not None:
                return
            self.began = time.monotonic()
        log.warning("database unreachable (%s): answering 503 and 'unavailable' until it "
                    "answers again", describe(error))

    def answered(self) -> None:
        if self.began is None:
            return
        with self._lock:
            if self.began is None:
                return
            lasted, refused = time.monotonic() - self.began, self.refused
            self.began, self.refused = None, 0
        log.warning("database answers again after %.1f s; %d requests, events or tasks met "
                    "the outage", lasted, refused)


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION_KEY] = Outage()


def state(app: Flask | None = None) -> Outage:
    return (app or current_app).extensions[_EXTENSION_KEY]


def retry_after() -> int:
    """Seconds a client should wait before trying again (the `Retry-After` header)."""
    return int(current_app.config["DATABASE_RETRY_AFTER_SECONDS"])


def give_up_transaction() -> None:
    """Roll the session back after an outage, whatever state the dead connection left.

    The rollback of a connection the server closed may itself fail; the session
    is then closed, which hands the connection back to the pool to be replaced.
    """
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:
        db.session.close()


def retry_through(app: Flask, what: str, attempt: Callable[[], T],
                  patience: float = 900.0) -> T:
    """Run `attempt` in an app context; while the database is away, wait and run it again.

    For background work that must not be lost to an outage: it waits 1, 2, 4…
    up to 30 s between tries, for at most `patience` seconds, then lets the last
    outage error through. Any other error goes through at once. Each try runs
    in an app context of its own, so with a fresh session. It waits on the
    async mode's loop (`socketio.sleep`), so a waiting task holds nobody up.
    """
    deadline = time.monotonic() + patience
    pause = 1.0
    while True:
        with app.app_context():
            try:
                return attempt()
            except sa.exc.SQLAlchemyError as error:
                if not is_database_outage(error) or time.monotonic() + pause > deadline:
                    raise
                give_up_transaction()
                state(app).noted(error)
                log.info("%s waits %.0f s for the database", what, pause)
        socketio.sleep(pause)
        pause = min(pause * 2, 30.0)
