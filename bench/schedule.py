"""The scheduler under a burst, and at rest: `python -m bench.schedule`.

Burst: USERS users, each with a week goal still open and a goal nudge due at
the same minute, in a fresh database built through the models' tables. The
app is served as `make run` serves it (app.py, eventlet on SQLite, or
gevent with --database postgresql), with the loop-lag probe of
bench/probed.py beside it. A sample of the nudged users is signed in over
WebSocket; one user who is not due asks for `/api/notifications` every 50 ms
throughout. The due minute is set once everything is connected and ten
seconds of that traffic have run (the baseline: `lag_before`,
`other_http_before`); the run prints when the last nudge was stored, when the
sample's last one arrived, the loop lag during the burst, and the other
user's HTTP latencies.

Idle: the same server with nothing due, its CPU over IDLE_SECONDS, with the
scheduler on and off (SCHEDULE_ENABLED=0), interleaved, twice each.

Turns: the same burst in this process (threading mode, no server), every
turn timed in CPU seconds (`time.thread_time`), which a busy machine's
preemption does not inflate: the largest is what one turn holds the loop for
on a quiet machine.

Every phase has a deadline; everything started here is stopped on the way out.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import requests
import socketio
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from deploy.processes import free_port, stop_group, wait_until

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fitness_app.models import DueItem, Goal, User  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
PASSWORD = "bench-password"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CHUNK = 5_000
BASELINE_SECONDS = 10
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], share: float) -> float | None:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else None


class Server:
    """app.py under the loop-lag probe (eventlet) or plain (gevent), on a free port."""

    def __init__(self, workdir: Path, url: str, mode: str, name: str, **env: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.probe = workdir / f"{name}.lag"
        self.log_path = workdir / f"{name}.log"
        self.env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(self.port),
                    "DATABASE_URL": url, "INSTANCE_PATH": str(workdir / "instance"),
                    "ASYNC_MODE": mode, "PROBE_FILE": str(self.probe), "ACCESS_LOG": "0",
                    "PYTHONUNBUFFERED": "1", **env}
        self.env.pop("REDIS_URL", None)
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        with open(self.log_path, "ab") as out:
            self.process = subprocess.Popen(
                [str(VENV_BIN / "python"), "bench/probed.py", "app.py"], cwd=ROOT, env=self.env,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(self._healthy, 60, f"{self.base}/healthz")
        return self

    def __exit__(self, *exc: object) -> None:
        stop_group(self.process)

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(self.log_path.read_text()[-2000:])
        try:
            return requests.get(f"{self.base}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.process.pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def lag(self, start: float, end: float) -> dict[str, Any]:
        wait_until(lambda: self._samples() and self._samples()[-1][0] >= end, 10, "lag samples")
        lags = [lag for at, lag in self._samples() if start <= at <= end]
        return {"samples": len(lags), "p99_ms": percentile(lags, 0.99),
                "max_ms": max(lags) if lags else None}

    def _samples(self) -> list[tuple[float, float]]:
        if not self.probe.exists():
            return []
        return [(float(a), float(b)) for a, b in
                (line.split() for line in self.probe.read_text().splitlines() if line)]

    def sign_in(self, email: str) -> requests.Session:
        session = requests.Session()
        page = session.get(f"{self.base}/auth/login", timeout=10).text
        token = CSRF.search(page).group(1)
        response = session.post(f"{self.base}/auth/login", allow_redirects=False, timeout=30,
                                data={"email": email, "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 302, response.text[:300]
        return session


def latencies(samples: list[float]) -> dict[str, Any]:
    return {"requests": len(samples), "p50_ms": percentile(samples, 0.5),
            "p99_ms": percentile(samples, 0.99), "max_ms": max(samples) if samples else None}


def seed(url: str, users: int, due: datetime) -> None:
    """Users with one open week goal each, and their goal nudges due at `due`."""
    password_hash = generate_password_hash(PASSWORD)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        rows = [{"username": f"n{i}", "email": f"n{i}@example.com",
                 "password_hash": password_hash, "timezone": "UTC", "goal_count": 1,
                 "nudge_time": clock_time(due.hour, due.minute), "read_through_id": 0,
                 "announcements_after_id": 0, "unread_count": 0, "is_admin": False,
                 "created_at": due - timedelta(days=30)} for i in range(users)]
        rows.append({**rows[0], "username": "other", "email": "other@example.com",
                     "goal_count": 0, "nudge_time": None})
        for start in range(0, len(rows), CHUNK):
            conn.execute(User.__table__.insert(), rows[start:start + CHUNK])
        ids = list(conn.scalars(sa.select(User.id).where(User.username != "other")))
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            conn.execute(Goal.__table__.insert(), [
                {"user_id": uid, "kind": "workouts", "target": 3.0, "period": "week",
                 "created_at": due - timedelta(days=30)} for uid in chunk])
            conn.execute(DueItem.__table__.insert(), [
                {"kind": "goal_nudge", "user_id": uid, "due_at": due} for uid in chunk])
    engine.dispose()


def count_nudges(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.text("SELECT count(*) FROM notifications WHERE kind='goal_nudge'"))


class Watcher:
    """One nudged user's WebSocket: when their nudge arrived."""

    def __init__(self, server: Server, email: str) -> None:
        session = server.sign_in(email)
        self.arrived: float | None = None
        self.client = socketio.Client(reconnection=False)
        self.client.on("notification", self._on_notification)
        cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
        self.client.connect(server.base, headers={"Cookie": cookie}, transports=["websocket"],
                            wait_timeout=20)

    def _on_notification(self, payload: dict[str, Any]) -> None:
        if payload.get("kind") == "goal_nudge" and self.arrived is None:
            self.arrived = time.monotonic()


class Prober(threading.Thread):
    """A signed-in user who is not due, reading their notifications every 50 ms."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.session = server.sign_in("other@example.com")
        self.url = f"{server.base}/api/notifications?after=0"
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            start = time.monotonic()
            self.session.get(self.url, timeout=30).raise_for_status()
            self.samples.append((start, (time.monotonic() - start) * 1000))
            self.stop.wait(0.05)


def burst(workdir: Path, url: str, mode: str, users: int, watchers: int,
          deadline_s: float) -> dict[str, Any]:
    log(f"seeding {users} users with a nudge each")
    seed(url, users, datetime.now(UTC) + timedelta(days=1))
    engine = sa.create_engine(url)
    with Server(workdir, url, mode, "burst") as server:
        step = max(1, users // watchers)
        sample = [f"n{i}@example.com" for i in range(users - 1, -1, -step)][:watchers]
        log(f"signing in {len(sample)} watchers and the prober")
        watching = [Watcher(server, email) for email in sample]
        prober = Prober(server)
        prober.start()
        # Ten seconds of the same traffic with nothing due: the baseline, on this
        # machine as loaded at the moment, that the burst's figures compare with.
        quiet_from = time.monotonic() + 1
        time.sleep(BASELINE_SECONDS)
        due = datetime.now(UTC) + timedelta(seconds=3)
        with engine.begin() as conn:
            conn.execute(sa.update(DueItem.__table__).values(due_at=due))
        start = time.monotonic() + (due - datetime.now(UTC)).total_seconds()
        log("due in 3 s; waiting for every nudge to be stored")
        stored_at = None
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if (stored := count_nudges(engine)) >= users:
                stored_at = time.monotonic()
                break
            time.sleep(0.2)
        if stored_at is not None:
            wait_until(lambda: all(w.arrived for w in watching), 30, "every watcher's nudge")
        arrivals = [w.arrived for w in watching if w.arrived]
        end = max([stored_at or time.monotonic(), *arrivals])
        time.sleep(1)
        prober.stop.set()
        prober.join(10)
        during = [ms for at, ms in prober.samples if start <= at <= end]
        before = [ms for at, ms in prober.samples if quiet_from <= at < start]
        result = {
            "users": users, "mode": mode, "database": url.split(":")[0],
            "stored_all_s": None if stored_at is None else round(stored_at - start, 2),
            "stored_by_deadline": stored,
            "watchers": len(watching), "watchers_reached": len(arrivals),
            "last_watcher_s": round(max(arrivals) - start, 2) if arrivals else None,
            "lag": server.lag(start, end),
            "lag_before": server.lag(quiet_from, start),
            "other_http": latencies(during),
            "other_http_before": latencies(before),
            "server_cpu_s": round(server.cpu_seconds(), 1),
        }
        for watcher in watching:
            watcher.client.disconnect()
    engine.dispose()
    return result


def turns(workdir: Path, url: str, users: int) -> dict[str, Any]:
    """Every turn of the burst run in-process, each timed in CPU milliseconds.

    Also the longest stretch of CPU between two yields (`socketio.sleep`,
    which a turn calls between its reads and computations and the fan-out
    every 100 emits): what one turn holds a server's event loop for at most.
    """
    from fitness_app import create_app
    from fitness_app.extensions import db, socketio
    from fitness_app.services.schedule import loop

    seed(url, users, datetime.now(UTC) - timedelta(seconds=5))
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    cpu_ms: list[float] = []
    held_ms: list[float] = []
    sleep = socketio.sleep
    mark = [time.thread_time()]

    turn_thread = threading.get_ident()

    def timed_sleep(seconds: float = 0) -> None:
        if threading.get_ident() != turn_thread:  # the push dispatchers' threads
            sleep(seconds)
            return
        held_ms.append((time.thread_time() - mark[0]) * 1000)
        sleep(seconds)
        mark[0] = time.thread_time()

    socketio.sleep = timed_sleep
    wall = time.monotonic()
    try:
        with app.app_context():
            while True:
                start = mark[0] = time.thread_time()
                claimed = loop.run_due()
                end = time.thread_time()
                cpu_ms.append((end - start) * 1000)
                held_ms.append((end - mark[0]) * 1000)
                if not claimed:
                    break
            db.engine.dispose()
    finally:
        socketio.sleep = sleep
    return {"users": users, "turns": len(cpu_ms) - 1, "batch": app.config["SCHEDULE_BATCH"],
            "cpu_s": round(sum(cpu_ms) / 1000, 1), "wall_s": round(time.monotonic() - wall, 1),
            "turn_cpu_ms": {"p50": percentile(cpu_ms, 0.5), "p99": percentile(cpu_ms, 0.99),
                            "max": max(cpu_ms)},
            "between_yields_cpu_ms": {"p99": percentile(held_ms, 0.99), "max": max(held_ms)}}


def idle(workdir: Path, url: str, mode: str, seconds: float, rounds: int) -> dict[str, Any]:
    """CPU share of an idle server, scheduler on and off, interleaved."""
    shares: dict[str, list[float]] = {"on": [], "off": []}
    for n in range(rounds):
        for label, enabled in (("on", "1"), ("off", "0")):
            with Server(workdir, url, mode, f"idle-{label}-{n}", SCHEDULE_ENABLED=enabled) as s:
                time.sleep(5)  # past start-up
                cpu, wall = s.cpu_seconds(), time.monotonic()
                time.sleep(seconds)
                share = 100 * (s.cpu_seconds() - cpu) / (time.monotonic() - wall)
                shares[label].append(round(share, 3))
                log(f"idle, scheduler {label}: {share:.3f} % of a core")
    return {"seconds_each": seconds, "cpu_percent": shares}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--watchers", type=int, default=50)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--idle-seconds", type=float, default=60)
    parser.add_argument("--idle-rounds", type=int, default=2)
    parser.add_argument("--phases", default="burst,turns,idle")
    parser.add_argument("--deadline", type=float, default=300,
                        help="seconds the burst may take before its figures are taken as they are")
    args = parser.parse_args()
    mode = "gevent" if args.database == "postgresql" else "eventlet"
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-schedule-") as tmp:
        workdir = Path(tmp)
        for phase in args.phases.split(","):
            url, cleanup = database(args.database, workdir, phase)
            try:
                subprocess.run([str(VENV_BIN / "flask"), "--app", "fitness_app", "db", "upgrade"],
                               cwd=ROOT, env={**os.environ, "DATABASE_URL": url},
                               check=True, capture_output=True)
                if phase == "burst":
                    results["burst"] = burst(workdir, url, mode, args.users, args.watchers,
                                             args.deadline)
                elif phase == "turns":
                    results["turns"] = turns(workdir, url, args.users)
                elif phase == "idle":
                    results["idle"] = idle(workdir, url, mode, args.idle_seconds,
                                           args.idle_rounds)
            finally:
                cleanup()
    print(json.dumps(results, indent=2))


def database(kind: str, workdir: Path, name: str) -> tuple[str, Any]:
    """A fresh database for one phase: a SQLite file, or a schema of the local PostgreSQL."""
    if kind == "sqlite":
        return f"sqlite:///{workdir / f'{name}.db'}", lambda: None
    admin_url = os.environ.get("BENCH_DATABASE_URL",
                               "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    schema = f"bench_schedule_{os.getpid()}_{name}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{admin_url}?options=-csearch_path%3D{schema}", drop


if __name__ == "__main__":
    main()
