"""The report: every figure of a run as Markdown tables, ready to paste into docs/performance.md.

`report` prints the machine and load average, then one table per phase that
ran; the figures and their verdicts come from `bench/figures.py`.
"""

from __future__ import annotations

import os
import platform
import subprocess
from contextlib import suppress
from typing import Any

from bench.figures import FANOUT_TARGETS, fanout_summary, figures, ratio, verdict


def _value(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) < 1000 else f"{v:,.0f}"
    return f"{v:,}"


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
            served = results["cluster"].get("mode", mode)
            print_table(f"{workers} {served} worker(s), Redis, {results['cluster']['database']}",
                        figures(pair, pair["steps"]), False)
        scaling = results["cluster"].get("scaling")
        if scaling:
            print("\n## scaling, 2 workers against 1 (same Redis, same database)\n")
            print(f"| {'figure':<44} | {'app':>9} | {'bare':>9} |")
            print(f"|{'-' * 46}|{'-' * 11}|{'-' * 11}|")
            for name, app, bare in scaling:
                print(f"| {name:<44} | {_ratio(app):>9} | {_ratio(bare):>9} |")
    if "fanout" in results:
        print_fanout(results["fanout"])
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
                  f"{fmt_list(r['lastMs'])} |")


def print_fanout(fan: dict[str, Any]) -> None:
    """Per shape: each server's pooled POST → event percentiles, its rounds, and the ratios."""
    for per_user, runs in fan["shapes"].items():
        print(f"\n## {fan['users']} users x {per_user} connections, {fan['samples']} POSTs per "
              f"round, {fan['rounds']} rounds interleaved (POST → event at the user's first "
              "connection)\n")
        print("| server | p25 | p50 | p95 | p99 | p99 at the last connection | p50 per round | "
              "p99 per round | CPU per POST | CPU to the fan-out p50 / p95: a user's first POST; "
              "later ones | loop lag max per round | collections (longest) |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        summary = {kind: fanout_summary(r) for kind, r in runs.items()}
        for kind, s in summary.items():
            held = "" if all(h == fan["users"] * int(per_user) for h in s["held"]) else \
                f" (held {fmt_list(s['held'])})"
            lost = f", {s['missed']} missed, {s['wrong']} to others" if s["missed"] or \
                s["wrong"] else ""
            print(f"| {fan['kinds'][kind] if kind == 'baseline' else kind}{held}{lost} | "
                  f"{_value(s['p25'])} | {_value(s['p50'])} | {_value(s['p95'])} | "
                  f"{_value(s['p99'])} | {_value(s['lastP99'])} | {fmt_ms(s['runP50'])} | "
                  f"{fmt_ms(s['runP99'])} | {_value(s['cpuPerPostMs'])} | "
                  f"{fmt_ms(s['cpuFirst'])}; {fmt_ms(s['cpuLater'])} | {fmt_ms(s['lagMax'])} | "
                  f"{s['collections']} ({_value(s['collectionMaxMs'])}) |")
        app = summary.get("app")
        if not app:
            continue
        marks = []
        for figure, other, limit in FANOUT_TARGETS:
            if other in summary and summary[other][figure]:
                r = app[figure] / summary[other][figure]
                marks.append(f"app/{other} {figure} {r:.2f} (target ≤ {limit}: "
                             f"{'met' if r <= limit else 'MISSED'})")
        if "baseline" in summary and summary["baseline"]["p25"]:
            marks.append(f"app/baseline p25 {app['p25'] / summary['baseline']['p25']:.2f}")
        print("\n" + "; ".join(marks))
    print("\nfigures in ms; percentiles pool every round's samples")


def fmt_ms(values: list[float | None]) -> str:
    return ", ".join("—" if v is None else f"{v:.1f}" for v in values)


def print_scenarios(scen: dict[str, Any]) -> None:
    """Fresh against aged per user; then what another user felt during the flood and sign-ins."""
    name = scen["database"]
    mode = scen.get("mode", "eventlet")
    print(f"\n## fresh and aged database, {name}, one {mode} worker, sampled alternately\n")
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


def fmt_list(values: list[float | None]) -> str:
    return ", ".join("—" if v is None else f"{v:.0f}" for v in values)
