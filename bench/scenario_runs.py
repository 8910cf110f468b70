"""The scenarios and reference phases: each on its own app servers and databases.

`run_scenarios` starts the app on a fresh and on an aged database side by
side (eventlet on SQLite, gevent on PostgreSQL, each as `make run` serves it)
and runs `bench/scenarios.py` against them: per-user figures sampled
alternately, then, on the aged one, the flood and the concurrent sign-ins,
each watched by another user. `run_reference` runs `bench/reference.py` in a
process of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from bench import scenarios
from bench.databases import (
    PASSWORD,
    PostgresStore,
    SqliteStore,
    prepare_app_database,
    served_mode,
)
from bench.processes import BENCH, ROOT, VENV_BIN, Server, log, profiled
from fitness_app.models import User


def aged_args(args: argparse.Namespace) -> dict[str, int]:
    """The aged database's size, from the command line."""
    return {"users": args.aged_users, "veterans": 3, "workouts": args.aged_workouts,
            "notifications": args.aged_notifications, "announcements": args.aged_announcements}


def run_scenarios(workdir: Path, args: argparse.Namespace, store_name: str) -> dict[str, Any]:
    """Per-user figures on a fresh and an aged database, side by side; then, on the aged
    one, the flood and the concurrent sign-ins, each watched by another user."""
    store = PostgresStore(args.pg_url) if store_name == "postgresql" else SqliteStore(workdir)
    out: dict[str, Any] = {"database": store_name, "mode": served_mode("eventlet", store_name),
                           "lag": {}}
    real_hash = generate_password_hash(PASSWORD)
    with store.database() as fresh_url, store.database() as aged_url:
        servers: dict[str, Server] = {}
        try:
            for name, url, old in (("fresh", fresh_url, None), ("aged", aged_url,
                                                                 aged_args(args))):
                env = {"SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": url,
                       "INSTANCE_PATH": str(workdir / f"instance-scen-{store_name}-{name}"),
                       "ASYNC_MODE": out["mode"]}
                log(f"scenarios/{store_name}: preparing the {name} database")
                t0 = time.monotonic()
                prepare_app_database(url, {**os.environ, **env}, 3, old, joined_now=True)
                out[f"{name}BuildSeconds"] = round(time.monotonic() - t0, 1)
                engine = sa.create_engine(url)
                with engine.begin() as conn:
                    newest = conn.scalar(sa.text("SELECT coalesce(max(id), 0) FROM notifications"))
                    conn.execute(User.__table__.insert(), [
                        {"username": f"signin{i}", "email": f"signin{i}@example.com",
                         "password_hash": real_hash, "is_admin": False,
                         "created_at": datetime.now(UTC), "unread_count": 0,
                         "read_through_id": newest, "announcements_after_id": newest}
                        for i in range(args.sign_ins)])
                engine.dispose()
                servers[name] = Server("app", workdir, f"scen-{store_name}-{name}", env)
                servers[name].start()
            fresh, old = servers["fresh"].url, servers["aged"].url
            people = {
                "fresh, new user": scenarios.User(fresh, "bench0@example.com", PASSWORD),
                "aged, new user": scenarios.User(old, "bench0@example.com", PASSWORD),
                "aged, 10-year user": scenarios.User(old, "aged0@example.com", PASSWORD),
            }
            owner = {"fresh, new user": "fresh", "aged, new user": "aged",
                     "aged, 10-year user": "aged"}
            log(f"scenarios/{store_name}: per-user figures, fresh and aged alternately")
            t0 = time.monotonic()
            out["users"] = scenarios.user_figures(
                servers, people, lambda key: servers[owner[key]].cpu_seconds(), args.user_rounds)
            out["lag"]["per-user figures (aged server)"] = servers["aged"].lag(t0, time.monotonic())
            observer = scenarios.User(old, "bench1@example.com", PASSWORD)
            observer.connect()
            t0 = time.monotonic()
            with scenarios.observed(observer) as quiet:
                time.sleep(3)
            out["quiet"] = {"observer": quiet}
            out["lag"]["quiet"] = servers["aged"].lag(t0, time.monotonic())
            log(f"scenarios/{store_name}: flood of {args.flood} events from one socket")
            t0 = time.monotonic()
            flooder = scenarios.User(old, "bench2@example.com", PASSWORD)
            with profiled(args, servers["aged"], f"flood-{store_name}"):
                out["flood"] = scenarios.flood(flooder, observer, args.flood)
            out["lag"]["flood"] = servers["aged"].lag(t0, time.monotonic())
            log(f"scenarios/{store_name}: {args.sign_ins} sign-ins at once")
            t0 = time.monotonic()
            out["signIns"] = scenarios.sign_ins(
                old, [(f"signin{i}@example.com", PASSWORD) for i in range(args.sign_ins)],
                observer)
            out["lag"]["sign-ins"] = servers["aged"].lag(t0, time.monotonic())
            observer.close()
        finally:
            for server in servers.values():
                server.stop()
    return out


def run_reference(workdir: Path, args: argparse.Namespace, store_name: str) -> dict[str, Any]:
    """bench/reference.py in a process of its own: CPU per POST, app against plain Flask."""
    store = PostgresStore(args.pg_url) if store_name == "postgresql" else SqliteStore(workdir)
    with store.database() as url:
        done = subprocess.run(
            [str(VENV_BIN / "python"), str(BENCH / "reference.py"), url],
            cwd=ROOT, capture_output=True, text=True, timeout=600, check=True,
            env={**os.environ, "ASYNC_MODE": "threading", "SECRET_KEY": secrets.token_hex(32),
                 "INSTANCE_PATH": str(workdir / f"instance-ref-{store_name}")},
        )
    return json.loads(done.stdout.strip().splitlines()[-1])
