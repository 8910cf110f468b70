"""Measure the notification path of the app, side by side with the bare server.

`make bench` runs the standard set (see `--help` for bigger runs). Every
measurement starts its own servers on free ports of 127.0.0.1, the way
`make run` starts the app (`.venv/bin/python app.py` with HOST, PORT,
DATABASE_URL and INSTANCE_PATH), creates its users directly in a fresh
database, logs each one in through the real form, and drives them with one
load client (`bench/client.js`). The bare server (`bench/bare.py`) goes
through the same steps with the same client just before the app, so every app
figure is printed with its ratio to the bare server's, measured minutes apart
on the same machine.

Every phase has a deadline and a fixed count, and everything started here is
stopped on the way out, so a run always ends by itself.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import queue
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from deploy.processes import RedisServer, free_port, stop_group, wait_until

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import aged, scenarios  # noqa: E402
from fitness_app.models import User  # noqa: E402

BENCH = ROOT / "bench"
VENV_BIN = ROOT / ".venv" / "bin"
PASSWORD = "bench-password"
CLK_TCK = os.sysconf("SC_CLK_TCK")
KINDS = ("bare", "app")


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the figures."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def raise_fd_limit(needed: int) -> int:
    """Lift the soft `ulimit -n` to the hard limit; children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < needed:
        log(f"warning: hard ulimit -n is {hard}, below the {needed} descriptors this run needs")
    return hard


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process, from /proc."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_bytes(pid: int) -> int:
    """Resident memory of one process, from /proc: what the RSS-per-socket figure divides."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


# --- processes -----------------------------------------------------------------


class Server:
    """One app.py or bare.py process on a free port of 127.0.0.1."""

    def __init__(self, kind: str, workdir: Path, name: str, env: dict[str, str]) -> None:
        self.kind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.script = "app.py" if kind == "app" else "bench/bare.py"
        # --modes: the app in gevent mode runs as deploy/ serves it, under gunicorn.
        self.gunicorn = kind == "app" and env.get("ASYNC_MODE") == "gevent"
        self.log_path = workdir / f"{name}.log"
        self.probe_path = workdir / f"{name}.lag"
        inherited = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
        self.env = {
            **inherited,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
            "ACCESS_LOG": "0",
            "PROBE_FILE": str(self.probe_path),
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as out:
            # The loop-lag probe wraps the scripts; gunicorn's worker runs without it.
            command = ([str(VENV_BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py",
                        "-b", f"127.0.0.1:{self.port}"] if self.gunicorn
                       else [str(VENV_BIN / "python"), "bench/probed.py", self.script])
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._healthy, 60, f"{self.url}/healthz")

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.script} exited: {self.log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def lag(self, start: float, end: float) -> dict[str, Any]:
        """The loop-lag probe's samples taken between two `time.monotonic()` moments."""
        if self.gunicorn:
            return {"n": 0, "p99": None, "max": None}
        wait_until(lambda: self._probed_until() >= end, 5, "the probe's samples")
        lags = sorted(float(lag) for at, lag in self._samples() if start <= float(at) <= end)
        if not lags:
            return {"n": 0, "p99": None, "max": None}
        return {"n": len(lags), "p99": lags[min(len(lags) - 1, int(0.99 * len(lags)))],
                "max": lags[-1]}

    def _samples(self) -> list[list[str]]:
        if not self.probe_path.exists():
            return []
        return [line.split() for line in self.probe_path.read_text().splitlines() if line]

    def _probed_until(self) -> float:
        samples = self._samples()
        return float(samples[-1][0]) if samples else 0.0

    @property
    def pid(self) -> int:
        """The serving process: under gunicorn its one worker, not the master."""
        if self.gunicorn:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            return int(children.read_text().split()[0])
        return self.process.pid

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid)

    def rss_bytes(self) -> int:
        return proc_rss_bytes(self.pid)

    def stop(self) -> None:
        stop_group(self.process, signal.SIGTERM)


class LoadClient:
    """bench/client.js, one JSON command per line; every call has a deadline."""

    def __init__(self, workdir: Path, max_seconds: int) -> None:
        with open(workdir / "client.log", "ab") as err:
            self.process = subprocess.Popen(
                ["node", str(BENCH / "client.js"), f"--max-seconds={max_seconds}"],
                cwd=BENCH,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                start_new_session=True,
            )
        self._lines: queue.Queue[str] = queue.Queue()
        self._seq = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line)

    def call(self, cmd: str, timeout: float, **args: Any) -> dict[str, Any]:
        """Run one command in the client; a late reply to an earlier call is skipped."""
        self._seq += 1
        self.process.stdin.write(json.dumps({"id": self._seq, "cmd": cmd, "args": args}) + "\n")
        self.process.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"client command {cmd} took longer than {timeout:.0f}s")
            try:
                reply = json.loads(self._lines.get(timeout=remaining))
            except queue.Empty:
                continue
            if reply.get("id") != self._seq:
                continue
            if not reply["ok"]:
                raise RuntimeError(f"client command {cmd} failed: {reply['error']}")
            return reply["result"]

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.process.pid)

    def close(self) -> None:
        with suppress(OSError):
            self.process.stdin.close()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


# --- databases -------------------------------------------------------------------


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
                         joined_now: bool = False) -> list[dict[str, Any]]:
    """Bring the schema up to date, then insert `n` users and one admin in one statement.

    The password hash uses a single PBKDF2 round, so logging 10,000 users in
    through the real form costs the server seconds, not the minutes the
    default hash would take; the login code path is unchanged. With
    `aged_args`, ten years of history (`bench/aged.py`) come first, and the
    `n` users joined ten years ago (every past announcement is theirs,
    unread), or just now with `joined_now`.
    """
    subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "fitness_app", "db", "upgrade"],
        cwd=ROOT, env={**env, "DATABASE_URL": url}, check=True, capture_output=True, timeout=120,
    )
    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
    joined, latest = datetime.now(UTC), 0
    if aged_args:
        latest = aged.build(url, password_hash=password_hash, **aged_args)["latestId"]
        if not joined_now:
            joined, latest = datetime.now(UTC) - timedelta(days=3650), 0
    engine = sa.create_engine(url)
    users = User.__table__
    state = {"unread_count": 0, "read_through_id": latest, "announcements_after_id": latest}
    rows = [
        {"username": f"bench{i}", "email": f"bench{i}@example.com", "password_hash": password_hash,
         "is_admin": False, "created_at": joined, **state}
        for i in range(n)
    ]
    rows.append({"username": "benchadmin", "email": "benchadmin@example.com",
                 "password_hash": password_hash, "is_admin": True, "created_at": joined,
                 **state})
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


# --- one measurement ---------------------------------------------------------------


def measure(
    kind: str,
    *,
    workdir: Path,
    label: str,
    workers: int,
    steps: list[int],
    transports: list[str],
    store: SqliteStore | PostgresStore,
    redis: RedisServer | None,
    args: argparse.Namespace,
    broadcast_rounds: int,
    throughput_seconds: float,
    idle_seconds: float,
    aged_args: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Start `workers` servers of one kind, connect up to `steps[-1]` sockets in steps,
    and take every figure along the way, with the loop lag of each phase."""
    n = steps[-1]
    log(f"{label}/{kind}: {workers} worker(s), {n} {'+'.join(transports)} sockets")
    result: dict[str, Any] = {"kind": kind, "workers": workers, "sockets": n,
                              "transports": transports, "steps": {}, "lag": {}}
    windows: dict[str, tuple[float, float]] = {}
    secret = secrets.token_hex(32)
    with _database(kind, store) as db_url:
        env = {"SECRET_KEY": secret, "INSTANCE_PATH": str(workdir / f"instance-{label}-{kind}"),
               "MAX_CONNECTIONS": str(args.max_connections), "ASYNC_MODE": args.mode}
        if db_url:
            env["DATABASE_URL"] = db_url
        if redis:
            redis.flush()
            env["REDIS_URL"] = redis.url
        if kind == "app":
            users = prepare_app_database(db_url, {**os.environ, **env}, n, aged_args)
            admin = next(u for u in users if u["admin"])
            users = [u for u in users if not u["admin"]]
        else:
            users = [{"id": i + 1} for i in range(n)]
            admin = None
        servers = [Server(kind, workdir, f"{label}-{kind}-{w}", env) for w in range(workers)]
        client = LoadClient(workdir, max_seconds=args.max_seconds)
        try:
            for server in servers:
                server.start()
            bases = [s.url for s in servers]
            if kind == "app":
                cpu0 = _cpu(servers)
                login = client.call("login", timeout=120 + n * 0.05, base=bases[0], users=users,
                                    admin=admin, password=PASSWORD, concurrency=4)
                login["serverCpuSeconds"] = _cpu(servers) - cpu0
                result["login"] = login
                if login["loggedIn"] != n or not login["admin"]:
                    raise RuntimeError(f"login failed: {login}")
            time.sleep(1)
            rss0 = _rss(servers)
            result["rssBeforeBytes"] = rss0
            connected = 0
            for step in steps:
                batch = users[connected:step]
                targets = [{"url": s.url, "users": [u["id"] for u in batch[w::workers]]}
                           for w, s in enumerate(servers)]
                cpu0, t0 = _cpu(servers), time.monotonic()
                opened = client.call("connect", timeout=120 + len(batch) * 0.05, targets=targets,
                                     mode=kind, transports=transports,
                                     concurrency=args.connect_concurrency)
                connect_cpu = _cpu(servers) - cpu0
                windows[f"connect to {step}"] = (t0, time.monotonic())
                connected = step
                time.sleep(1)
                rss = _rss(servers)
                log(f"  {step} sockets: opened {opened['connected']} in {opened['seconds']:.1f}s, "
                    f"RSS {rss / 2**20:.0f} MiB")
                cpu0, t0 = _cpu(servers), time.monotonic()
                latency = client.call("latency", timeout=60 + args.samples * 6, mode=kind,
                                      bases=bases, samples=args.samples)
                latency["serverCpuSeconds"] = _cpu(servers) - cpu0
                windows[f"POSTs at {step}"] = (t0, time.monotonic())
                log(f"  POST → event p50 {latency['event']['p50']:.1f} ms, "
                    f"p99 {latency['event']['p99']:.1f} ms")
                result["steps"][str(step)] = {
                    "connect": opened, "connectServerCpuSeconds": connect_cpu,
                    "rssBytes": rss,
                    "rssPerSocketBytes": (rss - rss0) / max(1, opened["connected"]),
                    "latency": latency,
                }
            if idle_seconds:
                cpu0, t0 = _cpu(servers), time.monotonic()
                with profiled(args, servers[0], f"{label}-{kind}-idle"):
                    time.sleep(idle_seconds)
                windows["idle"] = (t0, time.monotonic())
                result["idleCpuPercent"] = 100 * (_cpu(servers) - cpu0) / (time.monotonic() - t0)
            if broadcast_rounds:
                cpu0, t0 = _cpu(servers), time.monotonic()
                with profiled(args, servers[0], f"{label}-{kind}-broadcast"):
                    result["broadcast"] = client.call(
                        "broadcast", timeout=60 + broadcast_rounds * 20, mode=kind,
                        base=bases[0], rounds=broadcast_rounds)
                result["broadcast"]["serverCpuSeconds"] = _cpu(servers) - cpu0
                windows["broadcasts"] = (t0, time.monotonic())
                lasts = [r["lastMs"] for r in result["broadcast"]["rounds"]]
                log(f"  broadcast to {n}: last client after {_fmt_list(lasts)} ms")
            if throughput_seconds:
                before = count_notifications(db_url) if kind == "app" else 0
                cpu0, t0 = _cpu(servers), time.monotonic()
                with profiled(args, servers[0], f"{label}-{kind}-throughput"):
                    tp = client.call("throughput", timeout=60 + throughput_seconds * 2,
                                     mode=kind, bases=bases, seconds=throughput_seconds,
                                     concurrency=args.concurrency)
                tp["serverCpuSeconds"] = _cpu(servers) - cpu0
                windows["throughput"] = (t0, time.monotonic())
                if kind == "app":
                    tp["stored"] = count_notifications(db_url) - before
                result["throughput"] = tp
                log(f"  {tp['perSecond']:.0f} notifications/s over {tp['seconds']:.1f}s")
            result["held"] = client.call("stats", timeout=30)
            result["rssAfterBytes"] = _rss(servers)
            for phase, (start, end) in windows.items():
                result["lag"][phase] = servers[0].lag(start, end)
        finally:
            client.close()
            for server in servers:
                server.stop()
    return result


@contextmanager
def profiled(args: argparse.Namespace, server: Server, name: str) -> Iterator[None]:
    """With --profile DIR, sample the server with py-spy while the block runs.

    Non-blocking sampling perturbs the server least; the flame graph's shape,
    not its absolute times, is what points at a hot spot.
    """
    if not args.profile:
        yield
        return
    args.profile.mkdir(parents=True, exist_ok=True)
    with open(args.profile / f"{name}.log", "ab") as out:
        spy = subprocess.Popen(
            [str(VENV_BIN / "py-spy"), "record", "--pid", str(server.pid), "--rate", "250",
             "--nonblocking", "--format", "raw", "--output", str(args.profile / f"{name}.txt")],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()


@contextmanager
def _database(kind: str, store: SqliteStore | PostgresStore) -> Iterator[str | None]:
    """A fresh database for the app; the bare server has none."""
    if kind == "bare":
        yield None
        return
    with store.database() as url:
        yield url


def _cpu(servers: list[Server]) -> float:
    return sum(s.cpu_seconds() for s in servers)


def _rss(servers: list[Server]) -> int:
    return sum(s.rss_bytes() for s in servers)


def _fmt_list(values: list[float | None]) -> str:
    return ", ".join("—" if v is None else f"{v:.0f}" for v in values)


# --- fresh against aged, the flood, concurrent sign-ins, the reference POST -------------


def aged_args(args: argparse.Namespace) -> dict[str, int]:
    """The aged database's size, from the command line."""
    return {"users": args.aged_users, "veterans": 3, "workouts": args.aged_workouts,
            "notifications": args.aged_notifications, "announcements": args.aged_announcements}


def run_scenarios(workdir: Path, args: argparse.Namespace, store_name: str) -> dict[str, Any]:
    """Per-user figures on a fresh and an aged database, side by side; then, on the aged
    one, the flood and the concurrent sign-ins, each watched by another user."""
    store = PostgresStore(args.pg_url) if store_name == "postgresql" else SqliteStore(workdir)
    out: dict[str, Any] = {"database": store_name, "lag": {}}
    real_hash = generate_password_hash(PASSWORD)
    with store.database() as fresh_url, store.database() as aged_url:
        servers: dict[str, Server] = {}
        try:
            for name, url, old in (("fresh", fresh_url, None), ("aged", aged_url,
                                                                 aged_args(args))):
                env = {"SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": url,
                       "INSTANCE_PATH": str(workdir / f"instance-scen-{store_name}-{name}")}
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


# --- comparing load clients ----------------------------------------------------------


def compare_clients(workdir: Path, n: int, rounds: int, args: argparse.Namespace) -> dict:
    """Hold `n` sockets on the bare server and time `rounds` broadcasts, once with each client.

    The figure that matters is the client's own CPU: on 2 cores every second
    it burns is taken from the server it is measuring.
    """
    out: dict[str, Any] = {"sockets": n, "rounds": rounds}
    server = Server("bare", workdir, "compare-bare", {"MAX_CONNECTIONS": str(args.max_connections)})
    server.start()
    try:
        client = LoadClient(workdir, max_seconds=args.max_seconds)
        try:
            cpu0 = client.cpu_seconds()
            opened = client.call("connect", timeout=120 + n * 0.05, mode="bare",
                                 targets=[{"url": server.url, "users": list(range(1, n + 1))}],
                                 concurrency=args.connect_concurrency)
            cpu1 = client.cpu_seconds()
            bc = client.call("broadcast", timeout=60 + rounds * 20, mode="bare", base=server.url,
                             rounds=rounds)
            cpu2 = client.cpu_seconds()
            out["node"] = {"connected": opened["connected"], "connectSeconds": opened["seconds"],
                           "connectCpuSeconds": cpu1 - cpu0, "broadcastCpuSeconds": cpu2 - cpu1,
                           "lastMs": [r["lastMs"] for r in bc["rounds"]],
                           "rssBytes": proc_rss_bytes(client.process.pid)}
            client.call("close", timeout=60)
        finally:
            client.close()
        time.sleep(2)
        done = subprocess.run(
            [str(VENV_BIN / "python"), str(BENCH / "pyclient.py"), server.url, str(n), str(rounds),
             str(args.connect_concurrency)],
            cwd=ROOT, capture_output=True, text=True, timeout=300 + n * 0.1, check=True,
        )
        out["python"] = json.loads(done.stdout)
    finally:
        server.stop()
    return out


# --- the report -----------------------------------------------------------------------


def _get(data: dict, *path: str | int) -> Any:
    for key in path:
        if data is None:
            return None
        data = data.get(str(key)) if isinstance(data, dict) else None
    return data


def _median(values: list[float | None]) -> float | None:
    clean = sorted(v for v in values if v is not None)
    return clean[len(clean) // 2] if clean else None


def _broadcast_last(result: dict) -> float | None:
    """Median over rounds of the time until the last client had the announcement.

    A round where some client never got it counts as missing, not as fast.
    """
    rounds = _get(result, "broadcast", "rounds") or []
    return _median([r["lastMs"] if r["got"] == r["expected"] else None for r in rounds])


HIGHER, LOWER = "higher", "lower"


def figures(pair: dict[str, dict], steps: list[int]) -> list[tuple[str, str, Any, Any, Any]]:
    """(name, better, app, bare, app on the aged database) for one side-by-side measurement."""
    rows: list[tuple[str, str, Any, Any, Any]] = []

    def add(name: str, better: str, getter: Callable[[dict], Any]) -> None:
        rows.append((name, better, *(getter(pair[k]) if pair.get(k) else None
                                     for k in ("app", "bare", "aged"))))

    n = steps[-1]
    add(f"sockets held (of {n})", HIGHER, lambda r: _get(r, "held", "connected"))
    add("server RSS per socket, KB", LOWER,
        lambda r: (_get(r, "steps", n, "rssPerSocketBytes") or 0) / 1024)
    for step in steps:
        for p in ("p50", "p95", "p99"):
            add(f"POST → event {p} at {step} sockets, ms", LOWER,
                lambda r, s=step, p=p: _get(r, "steps", s, "latency", "event", p))
    add(f"broadcast to {n}: last client, ms", LOWER, _broadcast_last)
    add(f"broadcast to {n}: last badge refreshed, ms", LOWER, _badge_last)
    add("notifications per second", HIGHER, _per_second)
    add(f"server CPU per POST at {n} sockets, ms", LOWER, lambda r: _cpu_per_post(r, n))
    add("server CPU while idle, %", LOWER, lambda r: r.get("idleCpuPercent"))
    phases = list(dict.fromkeys(p for k in ("app", "bare", "aged") if pair.get(k)
                                for p in pair[k].get("lag", {})))
    for phase in phases:
        for stat in ("p99", "max"):
            add(f"loop lag {stat} during {phase}, ms", LOWER,
                lambda r, p=phase, s=stat: _get(r, "lag", p, s))
    return [row for row in rows if any(v is not None for v in row[2:])]


def _badge_last(result: dict) -> float | None:
    """Median over rounds of the time until the last online badge was refreshed."""
    rounds = _get(result, "broadcast", "rounds") or []
    return _median([r.get("lastBadgeMs") if r.get("badges") == r["expected"] else None
                    for r in rounds if r.get("lastBadgeMs") is not None or r.get("badges")])


def _per_second(result: dict) -> float | None:
    """The app's rows stored per second (counted in its database); the bare server's emits."""
    tp = result.get("throughput")
    if not tp:
        return None
    return tp.get("stored", tp["ok"]) / tp["seconds"]


def _cpu_per_post(result: dict, step: int) -> float | None:
    """Server CPU of the sequential latency run over its samples: the cost of one POST."""
    latency = _get(result, "steps", step, "latency")
    if not latency or not latency["event"]["n"]:
        return None
    return 1000 * latency["serverCpuSeconds"] / (latency["event"]["n"] + latency["missed"])


def ratio(better: str, app: Any, bare: Any) -> float | None:
    """App performance as a fraction of bare's: 1.0 = as good, below 0.8 misses the target."""
    if app is None or bare is None or app == 0 or bare == 0:
        return None
    return app / bare if better == HIGHER else bare / app


def _value(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) < 1000 else f"{v:,.0f}"
    return f"{v:,}"


# The targets for one eventlet worker, by figure name. Besides these,
# every figure but idle CPU should be at least 0.8 of the bare server's.
TARGETS: dict[str, Callable[[float], bool]] = {
    "sockets held": lambda v: v >= 10_000,
    "server RSS per socket, KB": lambda v: v <= 160,
    "POST → event p50 at 1000 sockets, ms": lambda v: v <= 5,
    "POST → event p99 at 1000 sockets, ms": lambda v: v <= 25,
    "broadcast to 10000: last client, ms": lambda v: v <= 1000,
    "broadcast to 10000: last badge refreshed, ms": lambda v: v <= 3000,
    "loop lag p99 during": lambda v: v <= 20,
    "loop lag max during": lambda v: v <= 100,
    "notifications per second": lambda v: v >= 1000,
}
MIN_RATIO = 0.8
NO_RATIO_TARGET = ("server CPU while idle, %",)
# During a broadcast the fan-out itself may hold the loop as long as the bare
# server's does: judged by the ratio, not by the absolute lag targets.
NO_ABSOLUTE_TARGET = ("during broadcasts",)


def verdict(name: str, app: Any, r: float | None) -> str:
    """The app's figure against its absolute target, if it has one, and against 0.8 × bare."""
    parts = []
    check = next((c for key, c in TARGETS.items() if name.startswith(key)), None)
    if any(part in name for part in NO_ABSOLUTE_TARGET):
        check = None
    if check:
        parts.append("target met" if app is not None and check(app) else "target MISSED")
    if r is not None and name not in NO_RATIO_TARGET:
        parts.append(f"ratio {'met' if r >= MIN_RATIO else 'MISSED'}")
    return ", ".join(parts)


def print_table(title: str, rows: list[tuple[str, str, Any, Any, Any]],
                check_targets: bool) -> None:
    """App, bare and their ratio; with an aged run, the app on the aged database too."""
    print(f"\n## {title}\n")
    print(f"| {'figure':<52} | {'app':>9} | {'bare':>9} | {'ratio':>5} | {'aged':>9} | "
          "targets (app; aged) |")
    print(f"|{'-' * 54}|{'-' * 11}|{'-' * 11}|{'-' * 7}|{'-' * 11}|---------|")
    for name, better, app, bare, old in rows:
        r = ratio(better, app, bare)
        mark = verdict(name, app, r) if check_targets else ""
        if check_targets and old is not None:
            mark += f"; {verdict(name, old, ratio(better, old, bare))}"
        print(f"| {name:<52} | {_value(app):>9} | {_value(bare):>9} | "
              f"{'—' if r is None else f'{r:.2f}':>5} | {_value(old):>9} | {mark} |")


def machine() -> dict[str, Any]:
    """What the figures were measured on, printed with them; the load average says how busy."""
    model = "unknown"
    with suppress(OSError), open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": model, "cores": os.cpu_count(),
        "memoryGiB": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(), "python": platform.python_version(), "node": node,
        "loadavg": os.getloadavg(),
    }


def report(results: dict[str, Any]) -> None:
    """Print every figure as Markdown tables, ready to paste into docs/performance.md."""
    m = results["machine"]
    print(f"# bench results, {results['date']}")
    print(f"\ncommand: {results['command']}")
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['memoryGiB']} GiB, kernel {m['kernel']}, "
          f"Python {m['python']}, Node {m['node']}")
    print(f"load average at start {_fmt_load(m['loadavg'])}, at end "
          f"{_fmt_load(results['loadavgEnd'])}")
    print("ratio = app's performance as a fraction of the bare server's (higher is better; "
          "latency, RSS and time ratios are bare/app)")
    mode = results.get("mode", "eventlet")
    if "single" in results:
        steps = results["single"]["steps"]
        print_table(f"one {mode} worker, WebSocket", figures(results["single"], steps), True)
    if "polling" in results:
        steps = results["polling"]["steps"]
        print_table(f"one {mode} worker, long-polling only",
                    figures(results["polling"], steps), False)
    if "cluster" in results:
        for workers, pair in sorted(results["cluster"]["runs"].items()):
            print_table(f"{workers} {mode} worker(s), Redis, {results['cluster']['database']}",
                        figures(pair, pair["steps"]), False)
        scaling = results["cluster"].get("scaling")
        if scaling:
            print("\n## scaling, 2 workers against 1 (same Redis, same database)\n")
            print(f"| {'figure':<44} | {'app':>9} | {'bare':>9} |")
            print(f"|{'-' * 46}|{'-' * 11}|{'-' * 11}|")
            for name, app, bare in scaling:
                print(f"| {name:<44} | {_ratio(app):>9} | {_ratio(bare):>9} |")
    for scen in results.get("scenarios", []):
        print_scenarios(scen)
    if results.get("reference"):
        print("\n## CPU per form POST, in-process (bench/reference.py)\n")
        print("| database | completed-workout POST, ms | plain Flask form POST, ms | ratio | "
              "target ≤ 1.25 |")
        print("|---|---|---|---|---|")
        for name, ref in results["reference"].items():
            print(f"| {name} | {ref['appMs']:.2f} | {ref['referenceMs']:.2f} | "
                  f"{ref['ratio']:.2f} | {'met' if ref['ratio'] <= 1.25 else 'MISSED'} |")
    if "clients" in results:
        c = results["clients"]
        print(f"\n## load client cost: {c['sockets']} sockets, {c['rounds']} broadcasts "
              "to the bare server\n")
        print("| client | connect CPU s | broadcast CPU s | last client, ms (per round) |")
        print("|---|---|---|---|")
        for name in ("node", "python"):
            r = c[name]
            print(f"| {name} | {r['connectCpuSeconds']:.2f} | {r['broadcastCpuSeconds']:.2f} | "
                  f"{_fmt_list(r['lastMs'])} |")


def print_scenarios(scen: dict[str, Any]) -> None:
    """Fresh against aged per user; then what another user felt during the flood and sign-ins."""
    name = scen["database"]
    print(f"\n## fresh and aged database, {name}, one eventlet worker, sampled alternately\n")
    users = scen["users"]
    fresh = users["fresh, new user"]
    print("| figure | fresh, new user | aged, new user | aged, 10-year user | "
          "aged/fresh (new; 10-year) | target ≤ 1.15 |")
    print("|---|---|---|---|---|---|")
    for key, label in (("eventP50Ms", "POST → event p50, ms"),
                       ("cpuPerPostMs", "server CPU per POST, ms (mean of 10 ms ticks)"),
                       ("connectToUnreadMs", "connect → unread_count, ms (median)"),
                       ("dashboardMs", "dashboard render, ms (median)")):
        values = [users[k][key] for k in ("fresh, new user", "aged, new user",
                                          "aged, 10-year user")]
        ratios = [v / fresh[key] if v and fresh[key] else None for v in values[1:]]
        verdict_ = "met" if all(r is not None and r <= 1.15 for r in ratios) else "MISSED"
        print(f"| {label} | {_value(values[0])} | {_value(values[1])} | {_value(values[2])} | "
              f"{'; '.join(_ratio(r) for r in ratios)} | {verdict_} |")
    print(f"\n## another user during a flood and during sign-ins, aged {name} database\n")
    flood = scen["flood"]
    print(f"flood: {flood['sent']} events sent in {flood['sendSeconds']:.2f} s; acks "
          f"{flood['acks']}; flooder disconnected: {flood['disconnected']}")
    sign = scen["signIns"]
    print(f"sign-ins: {sign['signIns']} at once, {len(sign['failures'])} failed; each took "
          f"p50 {_value(sign['signInMs']['p50'])} ms, max {_value(sign['signInMs']['max'])} ms")
    print("\n| phase | HTTP p99, ms | ack p99, ms | notification p99 / max, ms | "
          "loop lag p99 / max, ms | targets (≤ 100; lag ≤ 20 / 100) |")
    print("|---|---|---|---|---|---|")
    for phase, data, lag in (("quiet", scen["quiet"], "quiet"), ("flood", flood, "flood"),
                             ("20 sign-ins", sign, "sign-ins")):
        obs = data["observer"]
        worst = [obs["http"]["p99"], obs["ack"]["p99"], obs["notification"]["max"]]
        lagged = scen["lag"][lag]
        ok = all(v is not None and v <= 100 for v in worst)
        lag_ok = lagged["p99"] is not None and lagged["p99"] <= 20 and lagged["max"] <= 100
        print(f"| {phase} | {_value(obs['http']['p99'])} | {_value(obs['ack']['p99'])} | "
              f"{_value(obs['notification']['p99'])} / {_value(obs['notification']['max'])} | "
              f"{_value(lagged['p99'])} / {_value(lagged['max'])} | "
              f"{'met' if ok else 'MISSED'}; lag {'met' if lag_ok else 'MISSED'} |")
    lagged = scen["lag"]["per-user figures (aged server)"]
    print(f"\nloop lag while sampling the per-user figures (aged server): p99 "
          f"{_value(lagged['p99'])} ms, max {_value(lagged['max'])} ms")


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _fmt_load(load: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in load)


def scaling(runs: dict[int, dict]) -> list[tuple[str, Any, Any]]:
    """2-worker figures over 1-worker figures, per kind."""
    one, two = runs.get(1), runs.get(2)
    if not one or not two:
        return []
    rows = []
    for name, getter in (
        ("notifications per second, 2w / 1w", _per_second),
        ("broadcast last client, 1w / 2w", _broadcast_last),
    ):
        values = []
        for kind in ("app", "bare"):
            a, b = getter(two.get(kind) or {}), getter(one.get(kind) or {})
            if a and b:
                values.append(a / b if name.startswith("notifications") else b / a)
            else:
                values.append(None)
        rows.append((name, *values))
    return rows


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The defaults are the standard set of `make bench`; flags scale each phase up or down."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--phases", default="single,scenarios,reference",
                   help="comma-separated: single, scenarios, reference, polling, cluster, "
                        "clients (the last three are not in the standard set, to keep it "
                        "near ten minutes)")
    p.add_argument("--no-aged", action="store_true",
                   help="single worker: skip the app on the aged database")
    p.add_argument("--aged-users", type=int, default=1000,
                   help="aged database: users besides the ones holding sockets (who also "
                        "joined ten years ago); 3 of them are veterans")
    p.add_argument("--aged-workouts", type=int, default=2900, help="per veteran")
    p.add_argument("--aged-notifications", type=int, default=20_000, help="per veteran")
    p.add_argument("--aged-announcements", type=int, default=10_000)
    p.add_argument("--scenario-dbs", default="sqlite,postgresql",
                   help="databases for the scenarios and reference phases")
    p.add_argument("--user-rounds", type=int, default=60,
                   help="scenarios: samples per user and figure, fresh and aged alternating")
    p.add_argument("--flood", type=int, default=10_000, help="events one socket sends")
    p.add_argument("--sign-ins", type=int, default=20, help="concurrent sign-ins")
    p.add_argument("--sockets", type=int, default=10_000, help="single worker: sockets at the top")
    p.add_argument("--steps", default="100,1000",
                   help="single worker: smaller socket counts measured on the way up")
    p.add_argument("--samples", type=int, default=300, help="POST → event samples per step")
    p.add_argument("--broadcasts", type=int, default=5, help="broadcast rounds at the top step")
    p.add_argument("--throughput-seconds", type=float, default=10)
    p.add_argument("--concurrency", type=int, default=8, help="POSTs in flight for throughput")
    p.add_argument("--idle-seconds", type=float, default=25,
                   help="server CPU measured while idle; one ping interval pings every "
                        "socket exactly once")
    p.add_argument("--polling", type=int, default=1000, help="long-polling clients")
    p.add_argument("--cluster-sockets", type=int, default=2000)
    p.add_argument("--cluster-workers", default="1,2")
    p.add_argument("--cluster-db", choices=("postgresql", "sqlite"), default="postgresql")
    p.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                   help="a PostgreSQL login that may CREATE and DROP DATABASE")
    p.add_argument("--compare-sockets", type=int, default=3000,
                   help="clients phase: sockets held by each load client in turn")
    p.add_argument("--kinds", default="bare,app", help="which servers to measure")
    p.add_argument("--connect-concurrency", type=int, default=50)
    p.add_argument("--max-connections", type=int, default=20_000)
    p.add_argument("--max-seconds", type=int, default=900, help="hard limit per load client")
    p.add_argument("--json", type=Path, help="also write every raw figure here")
    p.add_argument("--profile", type=Path,
                   help="write py-spy samples (collapsed stacks) of the idle, broadcast, "
                        "throughput and flood phases into this folder")
    p.add_argument("--keep", action="store_true", help="keep the work folder (logs, databases)")
    p.add_argument("--modes", default="eventlet",
                   help="server modes, each measured in turn: eventlet (app.py, as `make run`), "
                        "gevent (gunicorn with deploy/gunicorn.conf.py, as deploy/ serves it)")
    return p.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run the whole set once per server mode (--modes), one report each, in turn."""
    args = parse_args(argv)
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        args.mode = mode
        if "," in args.modes:
            print(f"\n# mode: {mode}\n", flush=True)
        run_set(args, argv)
    return 0


def run_set(args: argparse.Namespace, argv: list[str]) -> None:
    """Run the chosen phases, keep the raw figures if asked, and always clean up."""
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    kinds = [k for k in KINDS if k in args.kinds.split(",")]
    raise_fd_limit(max(args.sockets, args.polling, args.cluster_sockets) + 1000)
    if not (BENCH / "node_modules" / "socket.io-client").exists():
        raise SystemExit("bench/node_modules is missing: run `make bench`, or npm ci in bench/")
    workdir = Path(tempfile.mkdtemp(prefix="fitness-bench-"))
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["bench/run.py", *argv]),
        "mode": args.mode,
        "machine": machine(),
    }
    started = time.monotonic()
    try:
        sqlite = SqliteStore(workdir)
        steps = sorted({int(s) for s in args.steps.split(",") if s and int(s) < args.sockets}
                       | {args.sockets})
        common = {"workdir": workdir, "args": args, "redis": None}
        if "single" in phases:
            results["single"] = {"steps": steps}
            for kind in kinds:
                results["single"][kind] = measure(
                    kind, label="single", workers=1, steps=steps, transports=["websocket"],
                    store=sqlite, broadcast_rounds=args.broadcasts,
                    throughput_seconds=args.throughput_seconds, idle_seconds=args.idle_seconds,
                    **common)
            if "app" in kinds and not args.no_aged:
                results["single"]["aged"] = measure(
                    "app", label="single-aged", workers=1, steps=steps,
                    transports=["websocket"], store=sqlite, broadcast_rounds=args.broadcasts,
                    throughput_seconds=args.throughput_seconds, idle_seconds=0,
                    aged_args=aged_args(args), **common)
        if "scenarios" in phases:
            results["scenarios"] = [run_scenarios(workdir, args, name)
                                    for name in args.scenario_dbs.split(",") if name]
        if "reference" in phases:
            results["reference"] = {name: run_reference(workdir, args, name)
                                    for name in args.scenario_dbs.split(",") if name}
        if "polling" in phases and args.polling:
            results["polling"] = {"steps": [args.polling]}
            for kind in kinds:
                results["polling"][kind] = measure(
                    kind, label="polling", workers=1, steps=[args.polling],
                    transports=["polling"], store=sqlite, broadcast_rounds=3,
                    throughput_seconds=0, idle_seconds=args.idle_seconds, **common)
        if "cluster" in phases:
            results["cluster"] = cluster(workdir, args, kinds)
        if "clients" in phases:
            results["clients"] = compare_clients(workdir, args.compare_sockets, 3, args)
    finally:
        results["loadavgEnd"] = os.getloadavg()
        results["seconds"] = round(time.monotonic() - started)
        if args.json:
            out = args.json if "," not in args.modes else args.json.with_suffix(
                f".{args.mode}{args.json.suffix}")
            out.write_text(json.dumps(results, indent=2))
        if args.keep:
            log(f"work folder kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report(results)
    print(f"\n(finished in {results['seconds']} s)")


def cluster(workdir: Path, args: argparse.Namespace, kinds: list[str]) -> dict[str, Any]:
    """The same figures with several workers sharing Redis and one database."""
    store = (PostgresStore(args.pg_url) if args.cluster_db == "postgresql"
             else SqliteStore(workdir))
    out: dict[str, Any] = {"database": store.name, "runs": {}}
    redis = RedisServer(workdir).start()
    try:
        for workers in sorted({int(w) for w in args.cluster_workers.split(",")}):
            pair: dict[str, Any] = {"steps": [args.cluster_sockets]}
            for kind in kinds:
                pair[kind] = measure(
                    kind, workdir=workdir, label=f"cluster{workers}", workers=workers,
                    steps=[args.cluster_sockets], transports=["websocket"], store=store,
                    redis=redis, args=args, broadcast_rounds=3,
                    throughput_seconds=args.throughput_seconds, idle_seconds=args.idle_seconds)
            out["runs"][workers] = pair
        out["scaling"] = scaling(out["runs"])
    finally:
        redis.stop()
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
