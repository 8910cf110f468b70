"""`make soak`: the delivery promises, proved under faults while people use the app.

    make soak                                  # three minutes, every fault (docs/performance.md)
    .venv/bin/python -m bench.soak --short     # the half-minute version CI runs
    .venv/bin/python -m bench.soak --users 200 --rate 8 --seconds 300

Starts, all private and on free ports of 127.0.0.1 (never the machine's
shared servers): a PostgreSQL (`initdb` into a temporary directory), a
redis-server, and two workers as deploy/ runs them (gunicorn's gevent worker,
deploy/cluster.py's `Cluster`). Then people sign in, each keeps a socket open
on their worker, and workouts are completed at a steady rate
(bench/soak_load.py) while the schedule injects faults:

- `kill -9` of each worker in turn, restarted at once (systemd's Restart=always);
- Redis stopped for 15 s;
- PostgreSQL stopped for 15 s (`pg_ctl stop -m fast`, as a restart for an upgrade).

The newer features ride along (bench/soak_features.py): some people have a
Web Push device at a local push service, reminders fall due on the minutes
the kills wait for, and the first kill cuts an import of a zip of many files.

At the end it waits for the last deliveries, checks the invariants against
the database and prints them with the figures per fault (bench/soak_report.py);
the exit status says whether every invariant held.

Extension points: a fault is an `async` function of the `Environment`
returning a `Fault` (bench/soak_faults.py; add it to a schedule below); a new
kind of traffic is a stream in `Load.streams` or a step of `Features.prepare`;
a new promise is a check in soak_report.judge or soak_checks.judge_features.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from bench.soak_checks import expected_pushes, judge_features
from bench.soak_faults import HEAL_SECONDS, FaultStep, kill_worker, log, stop_database, stop_redis
from bench.soak_features import Features
from bench.soak_load import Load
from bench.soak_report import Fault, Report, judge, stored_rows
from deploy.cluster import Cluster
from deploy.processes import PostgresServer, RedisServer, free_port
from tests.pushservice import PushService

PASSWORD = "soak-password"


class Environment:
    """The private PostgreSQL and Redis, and the workers; everything stops on exit."""

    def __init__(self, workers: int = 2) -> None:
        self.run_dir = Path(tempfile.mkdtemp(prefix="fitness-soak-"))
        self.database = PostgresServer("soak-postgres")
        self.redis = RedisServer(self.run_dir, "soak-redis")
        self.push = PushService()
        self.features: Features | None = None
        env = {
            **os.environ,
            "DATABASE_URL": self.database.url,
            "REDIS_URL": self.redis.url,
            "SOCKETIO_CHANNEL": f"soak-{uuid.uuid4().hex}",
            "SECRET_KEY": secrets.token_hex(32),
            "INSTANCE_PATH": str(self.run_dir / "instance"),
            "FLASK_CONFIG": "development",
            "PYTHONUNBUFFERED": "1",
            "PUSH_SERVICES": self.push.origin,
            # Every soak person subscribes from 127.0.0.1, one address.
            "RATELIMIT_PUSH_SUBSCRIBE": "1000 per minute",
        }
        ports = [free_port() for _ in range(workers)]
        # No nginx: people reach their worker directly (see bench/soak_load.py).
        self.cluster = Cluster(self.run_dir, free_port(), ports, env, nginx="")

    @property
    def urls(self) -> list[str]:
        return [self.cluster.worker_url(i) for i in range(len(self.cluster.worker_ports))]

    def start(self, users: int) -> list[tuple[int, str]]:
        self.push.__enter__()
        self.database.start()
        self.redis.start()
        self.cluster.migrate()
        accounts = create_people(self.database.url, users)
        for index in range(len(self.cluster.worker_ports)):
            self.cluster.start_worker(index, wait=False)
        for index in range(len(self.cluster.worker_ports)):
            self.cluster.wait_for_worker(index)
        return accounts

    def stop(self, keep_logs: bool) -> None:
        self.cluster.stop()
        self.redis.stop()
        self.database.close()
        self.push.__exit__(None, None, None)
        if keep_logs:
            log(f"worker logs kept in {self.run_dir}")
        else:
            shutil.rmtree(self.run_dir, ignore_errors=True)


def create_people(url: str, count: int) -> list[tuple[int, str]]:
    """Insert the accounts in one statement, with a one-round hash so signing in is cheap."""
    from fitness_app.models import User

    users = User.__table__
    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
    rows = [{"username": f"soak{i}", "email": f"soak{i}@example.com", "is_admin": False,
             "password_hash": password_hash, "created_at": datetime.now(UTC),
             "unread_count": 0, "read_through_id": 0, "announcements_after_id": 0}
            for i in range(count)]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(users.insert(), rows)
        found = conn.execute(sa.select(users.c.id, users.c.email).order_by(users.c.id)).all()
    engine.dispose()
    return [(uid, email) for uid, email in found]


@dataclass
class Schedule:
    seconds: float
    users: int
    rate: float
    steps: list[tuple[float, FaultStep]] = field(default_factory=list)
    devices: bool = True  # every fifth person has a push device
    reminders: bool = False  # reminders due on every minute of the run
    import_files: int = 0  # generated GPX files in the import a kill cuts


def full_schedule(seconds: float = 180, users: int = 120, rate: float = 4) -> Schedule:
    """Faults spread over the run, each with time to recover before the next.

    The kills wait for a minute on which reminders fall due: worker 0 dies
    0.05 s after it (when that minute's turn commits, 0.01-0.08 s after it
    here: one of the workers runs it, cut or not), with the import reading on
    it; worker 1 a second before one (due while it is dead).
    """
    return Schedule(seconds, users, rate, [
        (seconds * 0.10, kill_worker(0, minute_offset=0.05, cut_import=True)),
        (seconds * 0.27, kill_worker(1, minute_offset=-1.0)),
        (seconds * 0.45, stop_redis(15)),
        (seconds * 0.68, stop_database(15)),
    ], reminders=True, import_files=150)


def short_schedule() -> Schedule:
    """CI's half minute: one kill, one database restart; four people with a push device."""
    return Schedule(30, 20, 4, [(4, kill_worker(0)), (15, stop_database(6))])


# --- the run ------------------------------------------------------------------------


async def drive(env: Environment, accounts: list[tuple[int, str]], schedule: Schedule) -> Report:
    load = Load(env.urls, accounts, PASSWORD, schedule.rate)
    features = env.features = Features(load, env.push if schedule.devices else None,
                                       schedule.reminders, schedule.import_files)
    try:
        await load.sign_in_all()
        await features.prepare(schedule.seconds)
        log(f"{len(load.people)} people signed in, each with a socket; load for "
            f"{schedule.seconds:g} s at {schedule.rate:g} workouts/s")
        faults: list[Fault] = []
        began = time.monotonic()

        async def inject_all() -> None:
            # Faults never overlap: on a slow machine a restart can outlast the gap
            # to the next fault, which then waits until the sockets are back, and
            # the load goes on until every fault has had time to heal. A step may
            # wait (for a minute with reminders due): the load goes on meanwhile.
            ready = began
            for at, step in schedule.steps:
                await asyncio.sleep(max(0.0, began + at - time.monotonic(),
                                        ready - time.monotonic()))
                planned, load.deadline = load.deadline, math.inf
                fault = await step(env)
                faults.append(fault)
                ready = fault.returned + HEAL_SECONDS
                load.deadline = max(planned, ready)

        await asyncio.gather(load.run(schedule.seconds), inject_all())
        log("load over; waiting for the last deliveries")
        url = env.database.url
        waits = {"import": await features.wait_import(url, timeout=180)}
        _, _, per_user, _ = await asyncio.to_thread(stored_rows, url)
        settled = await load.settle(per_user, timeout=60)
        waits["expected_pushes"] = await asyncio.to_thread(expected_pushes, url, features)
        waits["pushes"] = await features.settle_pushes(waits["expected_pushes"], timeout=30)
        report = await asyncio.to_thread(judge, load, faults, url, settled)
        report.say("newer features:")
        await asyncio.to_thread(judge_features, report, load, features, faults, url, waits)
        return report
    finally:
        await load.close()
        log("people gone; stopping the servers")


def run(schedule: Schedule) -> Report:
    """Start everything, soak, judge, stop everything; the report says what held."""
    env = Environment()
    report = Report()
    try:
        log("starting PostgreSQL, Redis and two workers")
        accounts = env.start(schedule.users)
        report = asyncio.run(drive(env, accounts, schedule))
    finally:
        env.stop(keep_logs=bool(report.failures) or not report.lines)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="CI's 30 s version")
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--users", type=int, default=120)
    parser.add_argument("--rate", type=float, default=4, help="completed workouts a second")
    args = parser.parse_args(argv)
    schedule = short_schedule() if args.short else full_schedule(args.seconds, args.users,
                                                                 args.rate)
    report = run(schedule)
    print(f"soak: {schedule.users} people, {schedule.rate:g} workouts/s for "
          f"{schedule.seconds:g} s, two gunicorn gevent workers, private PostgreSQL and Redis")
    print("\n".join(report.lines))
    if report.failures:
        print(f"FAILED: {len(report.failures)} invariant(s) did not hold")
        return 1
    if report.missed:
        print(f"every invariant held; {len(report.missed)} time target(s) missed")
        return 1
    print("every invariant held, every time target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
