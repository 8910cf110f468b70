"""The figures of a run, taken out of its raw results, and the targets they are judged by.

`figures` lists one side-by-side measurement's figures (app, bare, aged);
`ratio` and `verdict` judge the app's against the bare server's and against
the issue's absolute targets; `scaling` compares 2 workers with 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


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


def _at(values: list[float], p: float) -> float | None:
    """The same percentile as bench/client.js: the smallest value with p % at or below it."""
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, -(-p * len(ordered) // 100) - 1))]


def fanout_summary(runs: list[dict]) -> dict[str, Any]:
    """One kind's rounds of the fan-out phase: pooled percentiles, and each round's own."""
    first = [ms for r in runs for _, ms, _, _ in r["latency"]["samples"]]
    last = [ms for r in runs for _, _, ms, _ in r["latency"]["samples"]]
    posts = sum(r["latency"]["event"]["n"] + r["latency"]["missed"] for r in runs)
    return {
        **{p: _at(first, n) for p, n in (("p25", 25), ("p50", 50), ("p95", 95), ("p99", 99))},
        "lastP99": _at(last, 99),
        "runP50": [r["latency"]["event"]["p50"] for r in runs],
        "runP99": [r["latency"]["event"]["p99"] for r in runs],
        "cpuPerPostMs": 1000 * sum(r["latency"]["serverCpuSeconds"] for r in runs) / posts
        if posts else None,
        "missed": sum(r["latency"]["missed"] for r in runs),
        "wrong": sum(r["latency"]["wrongClient"] for r in runs),
        "held": [r["held"] for r in runs],
        "lagMax": [r["lag"]["max"] for r in runs],
        **_cpu_to_fanout(runs),
        "collections": sum(r["collections"]["n"] for r in runs),
        "collectionMaxMs": max((r["collections"]["maxMs"] or 0 for r in runs), default=0),
    }


def _cpu_to_fanout(runs: list[dict]) -> dict[str, Any]:
    """Server CPU before the fan-out: p50 and p95 of each user's first POST, and of the rest.

    A user's first completion creates rows that later ones only update (the
    streak, the first bests), so the two are told apart.
    """
    first: list[float] = []
    later: list[float] = []
    for r in runs:
        seen: set[int] = set()
        cpus = r.get("cpuToFanout") or [None] * len(r["latency"]["samples"])
        for (user, *_), cpu in zip(r["latency"]["samples"], cpus, strict=True):
            if cpu is not None:
                (later if user in seen else first).append(cpu)
            seen.add(user)
    return {"cpuFirst": (_at(first, 50), _at(first, 95)),
            "cpuLater": (_at(later, 50), _at(later, 95))}


# Issue 25, at 50 users x 20 connections: the app against the baseline commit and bare.
FANOUT_TARGETS = (("p50", "baseline", 1.1), ("p99", "baseline", 1.25), ("p99", "bare", 3.0))
