"""Test databases: a SQLite file per test, and a PostgreSQL schema per test.

PostgreSQL runs where TEST_DATABASE_URL (default: the local server on
127.0.0.1:5432, database `test`) answers; each test gets a schema of its own,
named after the process and a counter, so parallel runs never collide.

The `database` fixture's schemas are reused (`pooled_schema`): creating a
schema and its tables and dropping it cost about 160 ms a test here, against
about 50 ms to empty one and check its structure. A schema goes back to the
pool only with exactly the structure `db.create_all` gives (a fingerprint of
its tables, columns, defaults, constraints, indexes and triggers), emptied and
with its sequences restarted, so the next test cannot tell it from a new one;
a schema that a migration test upgraded, or that anything else changed, is
dropped as before.
"""

from __future__ import annotations

import atexit
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


def _schema_url(name: str) -> str:
    # `synchronous_commit=off`: see `postgres_schema`.
    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options=-csearch_path%3D{name}%20-csynchronous_commit%3Doff"


# What a schema holds, without its name (the catalog spells it into defaults,
# constraints and index definitions).
_FINGERPRINT = sa.text("""
SELECT md5(concat_ws('|',
  (SELECT string_agg(c.relname || ':' || c.relkind::text || ':' || coalesce(a.attname, '') || ':'
                     || coalesce(format_type(a.atttypid, a.atttypmod), '') || ':'
                     || coalesce(a.attnotnull::text, '') || ':'
                     || replace(coalesce(pg_get_expr(d.adbin, d.adrelid), ''), :prefix, ''),
                     ',' ORDER BY c.relname, a.attnum)
     FROM pg_class c
     LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
     WHERE c.relnamespace = to_regnamespace(:schema)),
  (SELECT string_agg(conname || ':' || replace(pg_get_constraintdef(oid), :prefix, ''),
                     ',' ORDER BY conname)
     FROM pg_constraint WHERE connamespace = to_regnamespace(:schema)),
  (SELECT string_agg(replace(indexdef, :prefix, ''), ',' ORDER BY indexname)
     FROM pg_indexes WHERE schemaname = :schema),
  (SELECT string_agg(t.tgname, ',' ORDER BY t.tgname)
     FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace = to_regnamespace(:schema) AND NOT t.tgisinternal)))
""")

_pool: list[str] = []
_model_fingerprint: list[str] = []
# Tests hold one schema at a time; a module-scoped one beside them makes two.
_POOL_SIZE = 2


@atexit.register
def _drop_pool() -> None:
    """The pooled schemas go when the test process ends, as a test's own did after it."""
    if not _pool:
        return
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in _pool:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    admin.dispose()
    _pool.clear()


def _fingerprint(conn: sa.Connection, name: str) -> str:
    return conn.execute(_FINGERPRINT, {"schema": name, "prefix": f"{name}."}).scalar_one()


def _empty(conn: sa.Connection, name: str) -> None:
    """Delete every row and restart every sequence, in one round trip.

    DELETE, not TRUNCATE: on a test's few rows it is several times faster, and
    with the foreign-key triggers off for the transaction (`replica`, as the
    server's superuser) no table order matters.
    """
    tables = conn.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :s"),
                          {"s": name}).scalars().all()
    sequences = conn.execute(
        sa.text("SELECT sequencename FROM pg_sequences WHERE schemaname = :s"), {"s": name}
    ).scalars().all()
    conn.exec_driver_sql(
        "BEGIN; SET LOCAL synchronous_commit = off; SET LOCAL session_replication_role = replica; "
        + "".join(f'DELETE FROM "{name}"."{table}"; ' for table in tables)
        + "".join(f"SELECT setval('\"{name}\".\"{seq}\"', 1, false); " for seq in sequences)
        + "COMMIT;"
    )


@contextmanager
def pooled_schema(with_tables: bool) -> Iterator[str]:
    """A schema for one test; after it, back to this process's pool if it can be.

    `with_tables`: the test builds the app at once (`create_all`), so a pooled
    schema, which has the models' tables already, will do. Otherwise (a test
    that runs migrations, say) the schema is a new, empty one. The first
    schema of the process is made with the models' tables and fingerprinted:
    that is the structure a schema must have to go back to the pool.
    """
    from fitness_app.extensions import db  # the models, registered on import of the app

    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    if not _model_fingerprint:
        name = f"t_{os.getpid()}_{next(_counter)}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        engine = sa.create_engine(_schema_url(name))
        db.metadata.create_all(engine)
        engine.dispose()
        with admin.connect() as conn:
            _model_fingerprint.append(_fingerprint(conn, name))
        _pool.append(name)
    if with_tables and _pool:
        name = _pool.pop()
    else:
        name = f"t_{os.getpid()}_{next(_counter)}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    reusable = False
    try:
        yield _schema_url(name)
        with admin.connect() as conn:
            reusable = (len(_pool) < _POOL_SIZE
                        and _fingerprint(conn, name) == _model_fingerprint[0])
            if reusable:
                _empty(conn, name)
                _pool.append(name)
    finally:
        if not reusable:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


@contextmanager
def database_url(kind: str, tmp_path: Path, with_tables: bool = False) -> Iterator[str]:
    """`with_tables`: the caller builds the app at once, so a pooled PostgreSQL schema,
    tables and all, will do (`pooled_schema`)."""
    if kind == "postgresql":
        with pooled_schema(with_tables) as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'test.db'}"
