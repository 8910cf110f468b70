"""What the soak promises, checked against the database after the run, and printed.

The invariants (each must hold, or the run fails):
- no 500, on any request;
- a POST answered with a redirect stored its workout exactly once, with
  exactly one `workout_completed` notification; a POST answered 503 stored
  nothing (a POST that lost its connection may have gone either way: counted);
- every stored notification reached its person's socket (0 lost), live or
  replayed from `last_id`; duplicates on the wire are allowed and counted.

And the figures per fault: how long until the first success after it, what
people met meanwhile, against issue 22's time targets (first success within
5 s of the database's return, the first socket within 2 s of a worker's
restart). Those are measurements of this machine at its load, so they are
reported apart from the invariants.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from bench.soak_load import Load


@dataclass
class Fault:
    """One fault as it happened: when it began, when the service was back, and whose."""

    name: str
    kind: str  # "worker", "redis", "database"
    began: float
    returned: float = 0.0  # the server answers again (healthz 200, PING, pg_isready)
    worker: int | None = None
    at: float = field(default_factory=time.time)  # `began` on the wall clock (database times)


@dataclass
class Report:
    """What was printed; `failures` are broken invariants, `missed` are time targets."""

    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def say(self, line: str) -> None:
        self.lines.append(line)

    def require(self, holds: bool, what: str) -> None:
        """An invariant: it holds on any machine, however loaded."""
        self.say(f"  [{'ok' if holds else 'FAILED'}] {what}")
        if not holds:
            self.failures.append(what)

    def target(self, met: bool, what: str) -> None:
        """A time target of issue 22: a figure of this machine and its load at the time."""
        self.say(f"  [{'met' if met else 'MISSED'}] {what}")
        if not met:
            self.missed.append(what)


def stored_rows(url: str) -> tuple[dict[str, list[int]], dict[int, int], dict[int, set[int]],
                                   dict[int, float]]:
    """From the database: workout ids per title, completion notifications per workout,
    notification ids per user, and each notification's workout id."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        workouts: dict[str, list[int]] = {}
        for workout_id, title in conn.execute(sa.text("SELECT id, title FROM workouts")):
            workouts.setdefault(title, []).append(workout_id)
        completions: Counter[int] = Counter()
        per_user: dict[int, set[int]] = {}
        workout_of: dict[int, int] = {}
        for nid, user_id, kind, data in conn.execute(
            sa.text("SELECT id, user_id, kind, data FROM notifications")
        ):
            per_user.setdefault(user_id, set()).add(nid)
            if kind == "workout_completed":
                completions[data["workout_id"]] += 1
                workout_of[nid] = data["workout_id"]
    engine.dispose()
    return workouts, dict(completions), per_user, workout_of


def _seconds(values: list[float]) -> str:
    if not values:
        return "none"
    return (f"first {min(values):.2f} s, median {statistics.median(values):.2f} s, "
            f"last {max(values):.2f} s (n={len(values)})")


def judge(load: Load, faults: list[Fault], url: str, settle_seconds: float) -> Report:
    report = Report()
    workouts, completions, per_user, workout_of = stored_rows(url)
    posts = load.posts
    outcomes = Counter(str(p.status) if p.status else f"no answer ({p.error})" for p in posts)

    report.say(f"POSTs sent: {len(posts)}; answers: "
               + ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())))
    report.say("every HTTP answer of the run: "
               + ", ".join(f"{k}: {v}" for k, v in sorted(load.statuses.items())))
    report.say("invariants:")
    report.require(load.statuses[500] == 0, f"no 500 ({load.statuses[500]})")
    redirected = [p for p in posts if p.status in (302, 303)]
    twice = [p.title for p in redirected if len(workouts.get(p.title, [])) != 1]
    report.require(not twice, f"{len(redirected)} POSTs answered with a redirect, each stored "
                              f"exactly once ({len(twice)} not: {twice[:5]})")
    notified = [p.title for p in redirected
                if any(completions.get(w, 0) != 1 for w in workouts.get(p.title, []))]
    report.require(not notified, "each of their workouts has exactly one workout_completed "
                                 f"notification ({len(notified)} not)")
    refused = [p for p in posts if p.status == 503]
    kept = [p.title for p in refused if workouts.get(p.title)]
    report.require(not kept, f"{len(refused)} POSTs answered 503 stored nothing "
                             f"({len(kept)} stored: {kept[:5]})")
    unknown = [p for p in posts if p.status is None]
    stored_anyway = sum(bool(workouts.get(p.title)) for p in unknown)
    report.say(f"  POSTs whose worker died with them (outcome unknown to the client): "
               f"{len(unknown)}, of which stored: {stored_anyway}")
    by_user = {p.user_id: p for p in load.people}
    lost = {uid: ids - by_user[uid].received.keys() for uid, ids in per_user.items()
            if uid in by_user}
    lost_total = sum(len(ids) for ids in lost.values())
    stored_total = sum(len(ids) for ids in per_user.values())
    report.require(lost_total == 0, f"{stored_total} stored notifications, every one received "
                                    f"by its person's socket ({lost_total} lost)")
    title_of = {wid: title for title, ids in workouts.items() for wid in ids}
    for uid, ids in lost.items():
        for nid in sorted(ids)[:5]:
            report.say(f"    lost: notification {nid} of user {uid}, "
                       f"workout {title_of.get(workout_of.get(nid))}")
    duplicates = sum(p.duplicates for p in load.people)
    report.say(f"  duplicates on the wire (allowed, dropped by the client): {duplicates}")
    report.say(f"  waited {settle_seconds:.1f} s after the load for the last deliveries")
    acks = Counter(outcome for _, outcome in load.acks)
    report.say("  mark_read acks: " + ", ".join(f"{k}: {v}" for k, v in sorted(acks.items())))
    report.require(acks["server error"] == 0, f"no socket event answered 'server error' "
                                              f"({acks['server error']})")
    report.figures.update(posts=len(posts), redirected=len(redirected), refused=len(refused),
                          unknown=len(unknown), lost=lost_total, duplicates=duplicates,
                          status_500=load.statuses[500], stored=stored_total)

    report.say("faults:")
    title_of_notification = {nid: title_of.get(wid) for nid, wid in workout_of.items()}
    for fault in faults:
        _fault_figures(report, load, fault, title_of_notification)
    return report


def _first_success_after(posts: list[Any], moment: float) -> float | None:
    times = [p.answered_at - moment for p in posts
             if p.status in (302, 303) and p.sent_at >= moment]
    return min(times, default=None)


def _fault_figures(report: Report, load: Load, fault: Fault,
                   title_of: dict[int, str | None]) -> None:
    during = [p for p in load.posts if fault.began <= p.sent_at < fault.returned]
    answers = Counter(str(p.status) if p.status else "no answer" for p in during)
    down_for = fault.returned - fault.began
    report.say(f"  {fault.name}: back after {down_for:.1f} s; POSTs sent meanwhile: "
               + (", ".join(f"{k}: {v}" for k, v in sorted(answers.items())) or "none"))
    acks = Counter(o for t, o in load.acks if fault.began <= t < fault.returned + 15)
    report.say("    mark_read acks from then until 15 s after the return: "
               + (", ".join(f"{k}: {v}" for k, v in sorted(acks.items())) or "none"))
    first = _first_success_after(load.posts, fault.returned)
    key = fault.name.replace(" ", "_")
    if fault.kind == "database":
        report.say(f"    first POST stored after the database's return: "
                   f"+{first:.2f} s" if first is not None else "    no POST after the return")
        report.require(first is not None, "requests succeed again after the database's return")
        report.target(first is not None and first <= 5,
                      "target: within 5 s of the database's return")
        report.figures[f"{key}_first_success"] = first
        refusals = Counter()
        for person in load.people:
            refusals.update(person.refusals)
        report.say("    failed socket (re)connections over the whole run: "
                   + (", ".join(f"{k}: {v}" for k, v in sorted(refusals.items())) or "none"))
    elif fault.kind == "worker":
        homed = [p for p in load.people if p.home == fault.worker]
        back = [min(t for t in p.connects if t >= fault.began) - fault.returned
                for p in homed if any(t >= fault.began for t in p.connects)]
        report.say(f"    its {len(homed)} sockets reconnected, after its restart: "
                   + _seconds(back))
        report.require(len(back) == len(homed), "every socket of the killed worker reconnected")
        report.target(bool(back) and min(back) <= 2,
                       "target: the first socket back within 2 s of the worker's restart")
        report.figures[f"{key}_reconnect"] = back
    elif fault.kind == "redis":
        ok = sum(1 for p in during if p.status in (302, 303))
        report.require(ok == len(during), f"every POST succeeded while Redis was down "
                                          f"({ok} of {len(during)})")
        _redis_delivery(report, load, fault, during, title_of)


def _redis_delivery(report: Report, load: Load, fault: Fault, during: list[Any],
                    title_of: dict[int, str | None]) -> None:
    """Same-worker sockets hear at once; the others after Redis is back (the resend)."""
    post_of = {p.title: p for p in during if p.status in (302, 303)}
    same, other = [], []
    for person in load.people:
        for nid, arrived in person.received.items():
            post = post_of.get(title_of.get(nid))
            if post is None:
                continue
            if post.worker == person.home:
                same.append(arrived - post.answered_at)
            else:
                other.append(arrived - fault.returned)
    report.say("    made on the person's own worker, from the POST's answer to the event: "
               + _seconds(same))
    report.say("    made on the other worker, event after Redis's return: " + _seconds(other))

