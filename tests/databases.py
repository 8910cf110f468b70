"""Test databases: a SQLite file per test, and a PostgreSQL schema per test.

PostgreSQL runs where TEST_DATABASE_URL (default: the local server on
127.0.0.1:5432, database `test`) answers; each test gets a schema of its own,
named after the process and a counter, so parallel runs never collide.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_URL = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
_counter = itertools.count()


def _pg_reason() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when they can."""
    if os.environ.get("TEST_DATABASE_URL") == "":
        return "TEST_DATABASE_URL is empty"
    try:
        engine = sa.create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means no server to use
        return f"no PostgreSQL at {PG_URL}: {exc.__class__.__name__}"
    return None


PG_SKIP_REASON = _pg_reason()
# Without a server the `database` fixture fails (CI) or skips loudly (tests/services.py).
POSTGRESQL = pytest.param("postgresql", id="postgresql")
DATABASE_PARAMS = [pytest.param("sqlite", id="sqlite"), POSTGRESQL]


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema on the PostgreSQL server; the URL selects it by search_path."""
    name = f"t_{os.getpid()}_{next(_counter)}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    # `synchronous_commit=off` changes nothing a test can see: a commit is
    # visible to every other session at once, and only a crash of the shared
    # server itself (never done; outage tests run their own) could lose the
    # last ones. Waiting for the WAL flush made PostgreSQL tests about a third
    # slower on this machine's disk.
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options=-csearch_path%3D{name}%20-csynchronous_commit%3Doff"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


@contextmanager
def database_url(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "postgresql":
        with postgres_schema() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'test.db'}"
