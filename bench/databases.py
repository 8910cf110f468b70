"""The databases a bench run measures on: a fresh SQLite file or PostgreSQL database each time.

`SqliteStore` and `PostgresStore` hand out one new database per measurement
(PostgreSQL's is dropped after it); `prepare_app_database` upgrades its schema
the way `make run` does and inserts the users who will log in, optionally on
top of ten years of history (`bench/aged.py`).
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from bench import aged
from bench.processes import HERE, Tree
from fitness_app.models import User

PASSWORD = "bench-password"


def served_mode(mode: str, database: str) -> str:
    """The server mode on `database`: app.py refuses eventlet on PostgreSQL, whose driver
    would hold eventlet's loop, so there it runs gevent, as `ASYNC_MODE=gevent make run`
    serves it; the bare server beside it runs the same mode."""
    return "gevent" if mode == "eventlet" and database == "postgresql" else mode


# One counter for every SqliteStore of a run, so no two measurements share a file.
_SQLITE_FILES = itertools.count(1)


class SqliteStore:
    """A fresh SQLite file per measurement, as `make run` uses by default."""

    name = "sqlite"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    @contextmanager
    def database(self) -> Iterator[str]:
        yield f"sqlite:///{self.workdir / f'bench{next(_SQLITE_FILES)}.db'}"


class PostgresStore:
    """A database created for one measurement and dropped after it."""

    name = "postgresql"

    def __init__(self, admin_url: str) -> None:
        self.admin_url = sa.engine.make_url(admin_url)
        self._count = 0

    @contextmanager
    def database(self) -> Iterator[str]:
        self._count += 1
        name = f"fitness_bench_{os.getpid()}_{self._count}"
        engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield self.admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            with engine.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            engine.dispose()


def prepare_app_database(url: str, env: dict[str, str], n: int,
                         aged_args: dict[str, int] | None = None,
                         joined_now: bool = False, tree: Tree = HERE) -> list[dict[str, Any]]:
    """Bring the schema up to date, then insert `n` users and one admin in one statement.

    The password hash uses a single PBKDF2 round, so logging 10,000 users in
    through the real form costs the server seconds, not the minutes the
    default hash would take; the login code path is unchanged. With
    `aged_args`, ten years of history (`bench/aged.py`) come first, and the
    `n` users joined ten years ago (every past announcement is theirs,
    unread), or just now with `joined_now`. Another `tree` (a baseline
    commit) upgrades with its own migrations, and its users get only the
    columns its `users` table has.
    """
    subprocess.run(
        [str(tree.venv_bin / "flask"), "--app", "fitness_app", "db", "upgrade"],
        cwd=tree.root, env={**env, "DATABASE_URL": url}, check=True, capture_output=True,
        timeout=120,
    )
    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
    joined, latest = datetime.now(UTC), 0
    if aged_args:
        latest = aged.build(url, password_hash=password_hash, **aged_args)["latestId"]
        if not joined_now:
            joined, latest = datetime.now(UTC) - timedelta(days=3650), 0
    engine = sa.create_engine(url)
    # This tree's table brings its Python-side column defaults; another tree's is read back.
    users = (User.__table__ if tree == HERE
             else sa.Table("users", sa.MetaData(), autoload_with=engine))
    state = {"unread_count": 0, "read_through_id": latest, "announcements_after_id": latest}
    rows = [
        {"username": f"bench{i}", "email": f"bench{i}@example.com", "password_hash": password_hash,
         "is_admin": False, "created_at": joined, **state}
        for i in range(n)
    ]
    rows.append({"username": "benchadmin", "email": "benchadmin@example.com",
                 "password_hash": password_hash, "is_admin": True, "created_at": joined,
                 **state})
    rows = [{k: v for k, v in row.items() if k in users.c} for row in rows]
    with engine.begin() as conn:
        conn.execute(users.insert(), rows)
        found = conn.execute(sa.select(users.c.id, users.c.email, users.c.is_admin)
                             .where(users.c.username.like("bench%"))).all()
    engine.dispose()
    return [{"id": uid, "email": email, "admin": admin} for uid, email, admin in found]


def count_notifications(url: str) -> int:
    """Rows in the app's notifications table: "stored" is counted, not inferred from events."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        total = conn.execute(sa.text("SELECT count(*) FROM notifications")).scalar_one()
    engine.dispose()
    return total
