"""One measurement under socket load, and the phases made of it: single, polling, cluster, clients.

`measure` starts the servers of one kind (the app or the bare server),
connects sockets in steps through one load client, and takes every figure of
a step along the way (POST → event latency, RSS, CPU, broadcast, throughput,
idle CPU) with the loop lag of each phase. `cluster` repeats it with several
workers sharing Redis; `compare_clients` holds the bare server with the Node
and the Python client in turn.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.databases import (
    PASSWORD,
    PostgresStore,
    SqliteStore,
    count_notifications,
    prepare_app_database,
    served_mode,
)
from bench.figures import scaling
from bench.processes import BENCH, ROOT, VENV_BIN, LoadClient, Server, log, proc_rss_bytes, profiled
from bench.report import fmt_list
from deploy.processes import RedisServer


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
               "MAX_CONNECTIONS": str(args.max_connections),
               "ASYNC_MODE": served_mode(args.mode, store.name)}
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
        # --modes gevent: the app runs as deploy/ serves it, under gunicorn.
        gunicorn = kind == "app" and args.mode == "gevent"
        servers = [Server(kind, workdir, f"{label}-{kind}-{w}", env, gunicorn)
                   for w in range(workers)]
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
                log(f"  broadcast to {n}: last client after {fmt_list(lasts)} ms")
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


def cluster(workdir: Path, args: argparse.Namespace, kinds: list[str]) -> dict[str, Any]:
    """The same figures with several workers sharing Redis and one database."""
    store = (PostgresStore(args.pg_url) if args.cluster_db == "postgresql"
             else SqliteStore(workdir))
    out: dict[str, Any] = {"database": store.name, "mode": served_mode(args.mode, store.name),
                           "runs": {}}
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
