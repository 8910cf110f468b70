"""The fan-out phase: users with many connections each, POST → event at the first one.

People keep several tabs and devices open, so one workout completion goes to
every connection of its user. For each shape (`--fanout-connections`, 20 and
5 per user by default) and each round, one server of each kind is started
fresh: the bare server (the same per-user rooms with several sids), the app,
and with `--baseline COMMIT` that commit's app (`bench/baseline.py`). The
kinds take turns, in a rotated order each round, so the machine's noise of
the moment hits each alike; a round of one kind takes under a minute.

In each: `--fanout-users` users log in (the app), open their first
connection each, then the rest; then `--fanout-samples` sequential
completed-workout POSTs for random users, each timed from the POST to the
`notification` at the user's first connection (and to the last of them).
Server CPU per POST, loop lag, the collector's pauses and each POST's own
CPU up to its fan-out (`bench/probed.py`, PROBE_REQUESTS) are taken over the
same window (with `--profile DIR`, py-spy samples it
too). Samples are kept raw, with the moment each POST was sent, so the report
pools the rounds and quotes lower quartiles as well as medians and tails, and
a slow sample can be matched with the server's collections and lag.
"""

from __future__ import annotations

import argparse
import os
import secrets
import time
from pathlib import Path
from typing import Any

from bench import baseline
from bench.databases import PASSWORD, SqliteStore, prepare_app_database
from bench.processes import HERE, LoadClient, Server, Tree, log, profiled


def run_fanout(workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Every shape, `--fanout-rounds` rounds of each kind, interleaved."""
    trees: dict[str, Tree] = {"bare": HERE, "app": HERE}
    if args.baseline:
        trees["baseline"] = baseline.build(args.baseline, workdir)
    out: dict[str, Any] = {
        "users": args.fanout_users, "samples": args.fanout_samples,
        "rounds": args.fanout_rounds, "kinds": {k: t.label for k, t in trees.items()},
        "shapes": {},
    }
    store = SqliteStore(workdir)
    kinds = list(trees)
    for per_user in [int(c) for c in args.fanout_connections.split(",") if c]:
        runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
        for round_ in range(args.fanout_rounds):
            turn = round_ % len(kinds)
            for kind in kinds[turn:] + kinds[:turn]:
                runs[kind].append(_measure(kind, trees[kind], per_user, store, workdir, args,
                                           f"fanout{per_user}-{round_}-{kind}"))
        out["shapes"][str(per_user)] = runs
    return out


def _measure(kind: str, tree: Tree, per_user: int, store: SqliteStore, workdir: Path,
             args: argparse.Namespace, name: str) -> dict[str, Any]:
    """One fresh server of one kind: log in, connect every user `per_user` times, POST."""
    n = args.fanout_users
    app = kind != "bare"
    env = {"SECRET_KEY": secrets.token_hex(32), "INSTANCE_PATH": str(workdir / f"instance-{name}"),
           "MAX_CONNECTIONS": str(args.max_connections), "ASYNC_MODE": args.mode,
           "PROBE_REQUESTS": "1"}
    result: dict[str, Any] = {"kind": kind, "connectionsPerUser": per_user}
    with store.database() as url:
        if app:
            env["DATABASE_URL"] = url
            users = [u for u in prepare_app_database(url, {**os.environ, **env}, n, tree=tree)
                     if not u["admin"]]
        else:
            users = [{"id": i + 1} for i in range(n)]
        ids = [u["id"] for u in users]
        # --modes gevent: the app runs as deploy/ serves it, under gunicorn (as in measure).
        server = Server("app" if app else "bare", workdir, name, env,
                        gunicorn=app and args.mode == "gevent", tree=tree)
        client = LoadClient(workdir, max_seconds=args.max_seconds)
        mode = "app" if app else "bare"
        try:
            server.start()
            if app:
                login = client.call("login", timeout=120 + n * 0.05, base=server.url,
                                    users=users, admin=None, password=PASSWORD, concurrency=4)
                if login["loggedIn"] != n:
                    raise RuntimeError(f"{name}: login failed: {login}")
            # Each user's first connection opens first, so it is first in the user's room.
            for batch in (ids, ids * (per_user - 1)):
                if batch:
                    opened = client.call(
                        "connect", timeout=120 + len(batch) * 0.05, mode=mode,
                        targets=[{"url": server.url, "users": batch}],
                        concurrency=args.connect_concurrency)
            result["connected"] = opened["connected"]
            time.sleep(1)
            # One completion first, outside the samples: a fresh process compiles the
            # SQL of the completion path on its first one, once (the app 19-29 ms of CPU
            # to its fan-out, b842c40 9-14 ms: more statements), and with fresh servers
            # every round that first one would be 1 in every 200 samples: the p99 itself.
            w0 = time.monotonic()
            warm = client.call("latency", timeout=60, mode=mode, bases=[server.url], samples=1)
            result["warmUp"] = {"eventMs": warm["event"]["p50"], "cpuToFanout": [
                spans[1] for _, spans in server.requests(w0, time.monotonic())]}
            cpu0, t0 = server.cpu_seconds(), time.monotonic()
            with profiled(args, server, name):
                latency = client.call("latency", timeout=60 + args.fanout_samples * 6,
                                      mode=mode, bases=[server.url],
                                      samples=args.fanout_samples, raw=True)
            t1 = time.monotonic()
            latency["serverCpuSeconds"] = server.cpu_seconds() - cpu0
            result["latency"] = latency
            result["lag"] = server.lag(t0, t1)
            result["collections"] = server.collections(t0, t1)
            result["cpuToFanout"] = _cpu_to_fanout(latency["samples"], server.requests(t0, t1))
            result["held"] = client.call("stats", timeout=30)["connected"]
        finally:
            client.close()
            server.stop()
    ev = result["latency"]["event"]
    warm_cpu = ", ".join(f"{cpu:.1f}" for cpu in result["warmUp"]["cpuToFanout"]) or "?"
    log(f"{name}: {result['held']} sockets, POST → event p50 {ev['p50']:.1f} ms, "
        f"p99 {ev['p99']:.1f} ms, lag max {result['lag']['max'] or 0:.1f} ms, "
        f"{result['collections']['n']} collections; the untimed first completion "
        f"{result['warmUp']['eventMs'] or float('nan'):.1f} ms, CPU to its fan-out {warm_cpu} ms")
    return result


def _cpu_to_fanout(samples: list[list], requests: list[tuple[float, list[float]]]) -> list:
    """For each sample, the server CPU its POST spent before the fan-out began (ms), from
    the first request the probe saw start after the client sent it; None if none did."""
    found = []
    rest = iter(sorted(requests))
    request = next(rest, None)
    for _, first_ms, _, at in samples:
        while request is not None and request[0] < at:
            request = next(rest, None)
        found.append(request[1][1] if request is not None
                     and request[0] <= at + first_ms / 1000 else None)
    return found
