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

This module is the entry point: the flags and the phases in order. The parts
read alone: `processes` (the servers, the load client, py-spy), `databases`
(a fresh database per measurement), `measure` (the socket-load phases:
single, polling, cluster, clients), `fanout` (users with many connections
each, beside the bare server and a `--baseline` commit built by `baseline`),
`scenario_runs` (the scenarios and reference phases), `figures` (the figures
and their targets) and `report` (the tables).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.databases import SqliteStore
from bench.fanout import run_fanout
from bench.measure import cluster, compare_clients, measure
from bench.processes import BENCH, log, raise_fd_limit
from bench.report import machine, report
from bench.scenario_runs import aged_args, run_reference, run_scenarios

KINDS = ("bare", "app")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The defaults are the standard set of `make bench`; flags scale each phase up or down."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--phases", default="single,fanout,scenarios,reference",
                   help="comma-separated: single, fanout, scenarios, reference, polling, "
                        "cluster, clients (the last three are not in the standard set, to keep "
                        "it near ten minutes)")
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
    p.add_argument("--fanout-users", type=int, default=50)
    p.add_argument("--fanout-connections", default="20,5",
                   help="fanout: connections per user, one shape each")
    p.add_argument("--fanout-samples", type=int, default=200, help="fanout: POSTs per round")
    p.add_argument("--fanout-rounds", type=int, default=2,
                   help="fanout: fresh servers of each kind per shape, taking turns")
    p.add_argument("--baseline", metavar="COMMIT",
                   help="fanout: also serve this commit's app, built in a temporary clone, "
                        "in turn with this tree's")
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
                        "throughput, fan-out POST and flood phases into this folder")
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
        if "fanout" in phases:
            results["fanout"] = run_fanout(workdir, args)
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
