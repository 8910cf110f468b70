"""Password hashing that never holds the event loop or a database connection.

Werkzeug's scrypt costs about 130 ms of CPU per hash or check. On eventlet's or
gevent's single loop that would stop every other user for as long, so the work
runs in a real OS thread (scrypt releases the GIL) through the pool of the
server's async mode. fitness_app must not import eventlet or gevent, so the
entry point hands that pool over with `use_thread_pool`; without one (threading
mode, the `flask` command, tests) each request already has its own thread and
the hash runs in it.

A pool alone is not enough: twenty hashes at once on two cores crowd the loop
out all the same. A semaphore lets PASSWORD_HASH_CONCURRENCY of them run at a
time; the others wait cooperatively. Before hashing, the session's read-only
transaction ends, so its pooled connection serves other requests meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app
from werkzeug.security import check_password_hash, generate_password_hash

from fitness_app.extensions import db

T = TypeVar("T")
ThreadPoolRunner = Callable[..., Any]

_EXTENSION = "fitness_passwords"
_run_in_thread: ThreadPoolRunner | None = None


def use_thread_pool(run: ThreadPoolRunner) -> None:
    """Run hashes through `run(fn, *args)`, which must block only the calling green thread.

    The entry point registers eventlet's `tpool.execute` or a wrapper around
    gevent's hub threadpool after monkey-patching; see app.py.
    """
    global _run_in_thread
    _run_in_thread = run


def init_app(app: Flask) -> None:
    """Create the app's semaphore now: after monkey-patching, so it is green when it must be."""
    app.extensions[_EXTENSION] = threading.BoundedSemaphore(
        app.config["PASSWORD_HASH_CONCURRENCY"]
    )


def hash_password(password: str) -> str:
    """The stored form of a new password: PASSWORD_HASH_METHOD (scrypt), salted."""
    return _off_the_loop(generate_password_hash, password,
                         current_app.config["PASSWORD_HASH_METHOD"])


def check_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches `password_hash`; False for a malformed hash."""
    return _off_the_loop(_safe_check, password_hash, password)


def _safe_check(password_hash: str, password: str) -> bool:
    try:
        return check_password_hash(password_hash, password)
    except ValueError:
        # An unknown method or a corrupt hash: no password can match it.
        return False


def _off_the_loop(work: Callable[..., T], *args: Any) -> T:
    _release_connection()
    with current_app.extensions[_EXTENSION]:
        if _run_in_thread is None:
            return work(*args)
        return _run_in_thread(work, *args)


def _release_connection() -> None:
    """End a read-only transaction so its pooled connection goes back while we hash.

    A session holding unsaved changes keeps its transaction: committing half a
    unit of work would be worse than holding a connection for 130 ms.
    """
    session = db.session()
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.commit()
