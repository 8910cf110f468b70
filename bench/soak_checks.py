"""The newer features' promises under faults, checked against the database and printed.

Beside soak_report's invariants (each must hold, or the run fails):

- **Push devices**: every group of notifications stored for a person with a
  device, not all silent, reached that device as a push (VAPID checked and
  decrypted by the local push service); duplicates are counted. A push lives
  in its worker's memory from COMMIT until the push service answers (the
  queue, the OS threads, the retries), so a `kill -9` loses what that worker
  held: a lost push of a group stored at most IN_FLIGHT seconds before a kill
  of the worker that stored it (any worker, for groups the scheduler or an
  import stored) is counted as lost in flight, not failed. Every other loss fails.
- **Reminders**: each reminder that fell due during the run is stored exactly
  once, and reached its person's socket; none was dropped (all were far less
  than an hour late). Those due around a kill are shown apart.
- **The import cut by a kill**: it was being read when its worker died; it
  ended `done` or `failed`, never left `running`; its workouts are not doubled
  (one per file added, no two with the same start and activity); its
  `import_finished` is stored once and reached the socket.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bench.soak_features import Features, pushed_groups
from bench.soak_load import Load
from bench.soak_report import Fault, Report

IN_FLIGHT = 5.0
# The load process's offset from CLOCK_MONOTONIC to wall-clock time.
WALL = time.time() - time.monotonic()


def _spread(values: list[float]) -> str:
    if not values:
        return "none"
    return (f"min {min(values):.2f} s, median {statistics.median(values):.2f} s, "
            f"max {max(values):.2f} s (n={len(values)})")


def expected_pushes(url: str, features: Features) -> dict[str, dict[str, tuple[float, str]]]:
    """Per device endpoint: each group that must be pushed → (stored at, a workout title)."""
    owners = {d.person.user_id: d.subscription["endpoint"] for d in features.devices}
    if not owners:
        return {}
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT n.id, n.user_id, n.group_key, n.silent, n.created_at, w.title"
            " FROM notifications n LEFT JOIN workouts w"
            " ON w.id = (n.data->>'workout_id')::int"
            " WHERE n.user_id = ANY(:ids) ORDER BY n.id"), {"ids": list(owners)}).all()
    engine.dispose()
    expected: dict[str, dict[str, tuple[float, str]]] = {e: {} for e in owners.values()}
    for nid, user_id, group_key, silent, created_at, title in rows:
        if silent:
            continue
        groups = expected[owners[user_id]]
        group = group_key or str(nid)
        if group not in groups:
            groups[group] = (created_at.timestamp(), title or "")
    return expected


def judge_push(report: Report, load: Load, features: Features, faults: list[Fault],
               expected: dict[str, dict[str, tuple[float, str]]], waited: float) -> None:
    if not features.devices:
        return
    worker_of = {p.title: p.worker for p in load.posts if p.status in (302, 303)}
    kills = [f for f in faults if f.kind == "worker"]
    lost, in_flight, duplicates, unexpected, total = [], [], 0, 0, 0
    for endpoint, groups in expected.items():
        pushed = Counter(pushed_groups(features.push, endpoint))
        duplicates += sum(count - 1 for count in pushed.values())
        unexpected += sum(1 for group in pushed if group not in groups)
        total += len(groups)
        for group, (stored_at, title) in groups.items():
            if pushed[group]:
                continue
            worker = worker_of.get(title)
            if any(k.at - IN_FLIGHT <= stored_at <= k.at and worker in (None, k.worker)
                   for k in kills):
                in_flight.append(group)
            else:
                lost.append((endpoint, group, title))
    service = features.push
    report.say(f"push devices: {len(features.devices)} people with one device each at the "
               "local push service (VAPID verified, aes128gcm decrypted), no socket naming it")
    report.say(f"  pushes received: {len(service.received)}; refused by the service's checks: "
               f"{len(service.rejected)}; waited {waited:.1f} s after the load for the last")
    report.require(not service.rejected, f"every push passed the push service's checks "
                                         f"({len(service.rejected)} refused: "
                                         f"{service.rejected[:2]})")
    report.require(not lost, f"{total} groups stored for them (not silent), each pushed to "
                             f"its device ({len(lost)} lost, not explained by a kill)")
    for endpoint, group, title in lost[:5]:
        report.say(f"    lost: group {group} ({title or 'no workout'}) for {endpoint}")
    report.say(f"  lost in flight at a kill -9 (stored at most {IN_FLIGHT:g} s before the "
               f"kill of its worker; pushes wait in the worker's memory): {len(in_flight)}")
    report.say(f"  duplicate pushes (allowed, counted): {duplicates}")
    flaky = {service.token_of(d.subscription) for d in features.flaky}
    refusals = sum(1 for token, _, status in service.attempts
                   if status == 503 and token in flaky)
    flaky_lost = sum(1 for endpoint, _, _ in lost if service.token_of(endpoint) in flaky)
    report.say(f"  {len(flaky)} devices' push service answered 503 (Retry-After: 1) "
               f"{refusals} times, each push then retried by its worker; of their groups "
               f"lost: {flaky_lost}")
    report.require(unexpected == 0, f"no push for a group that was not stored or is silent "
                                    f"({unexpected})")
    report.figures.update(push_groups=total, push_lost=len(lost), push_in_flight=len(in_flight),
                          push_duplicates=duplicates)


def judge_reminders(report: Report, load: Load, features: Features, faults: list[Fault],
                    url: str) -> None:
    if not features.reminders:
        return
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        stored: dict[str, list[tuple[int, datetime]]] = {}
        for title, nid, created_at in conn.execute(sa.text(
            "SELECT w.title, n.id, n.created_at FROM workouts w JOIN notifications n"
            " ON n.kind = 'reminder' AND (n.data->>'workout_id')::int = w.id"
            " WHERE w.title LIKE 'reminder-%'")):
            stored.setdefault(title, []).append((nid, created_at))
        waiting = set(conn.scalars(sa.text(
            "SELECT w.title FROM due_items d JOIN workouts w ON w.id = d.workout_id"
            " WHERE d.kind = 'reminder'")))
    engine.dispose()
    due = [r for r in features.reminders if r.title not in waiting]
    not_yet = len(features.reminders) - len(due)
    twice = [r.title for r in due if len(stored.get(r.title, [])) != 1]
    unheard, late, heard_late = [], [], []
    for reminder in due:
        for nid, created_at in stored.get(reminder.title, [])[:1]:
            late.append((created_at - reminder.due_at).total_seconds())
            arrived = reminder.person.received.get(nid)
            if arrived is None:
                unheard.append(reminder.title)
            else:
                heard_late.append(arrived + WALL - reminder.due_at.timestamp())
    per_minute = len(features.reminders) // max(1, len(features.minutes))
    report.say(f"reminders: {len(features.reminders)} planned through the form "
               f"({per_minute} due on each of {len(features.minutes)} minutes); {len(due)} "
               f"fell due during the run, {not_yet} were still ahead at its end")
    report.require(not twice, f"each reminder that fell due stored exactly once "
                              f"({len(twice)} not: {twice[:5]})")
    report.require(not unheard, f"each reached its person's socket ({len(unheard)} lost)")
    report.require(all(s < 3600 for s in late), "none dropped as an hour late")
    report.say("  stored after its due time: " + _spread(late))
    report.say("  on the socket after its due time: " + _spread(heard_late))
    for fault in faults:
        if fault.kind == "worker":
            _reminders_at_kill(report, fault, due, stored)
    report.figures.update(reminders_due=len(due), reminders_twice=len(twice),
                          reminders_lost=len(unheard))


def _reminders_at_kill(report: Report, fault: Fault, due: list[Any],
                       stored: dict[str, list[tuple[int, datetime]]]) -> None:
    """The reminders due from 2 s before the kill until the worker served again."""
    near = [r for r in due if fault.at - 2 <= r.due_at.timestamp() <= fault.returned + WALL]
    if not near:
        report.say(f"  none due at the {fault.name}")
        return
    minute = min(r.due_at for r in near).timestamp()
    delays, after_kill = [], 0
    for reminder in near:
        nid, created_at = stored.get(reminder.title, [(None, None)])[0]
        after_kill += created_at is not None and created_at.timestamp() > fault.at
        arrived = reminder.person.received.get(nid)
        if arrived is not None:
            delays.append(arrived + WALL - minute)
    # Stored after the kill: by the worker that lived, or after a turn the kill cut
    # (rolled back with the dead connection) was taken again.
    report.say(f"  {fault.name} {fault.at - minute:+.2f} s from their minute: {len(near)} "
               f"reminders due, {len(near) - after_kill} stored before the kill and "
               f"{after_kill} after it; on the socket after the minute: {_spread(delays)}")


def judge_import(report: Report, features: Features, url: str, waited: float) -> None:
    run = features.imported
    if run is None:
        return
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        job = conn.execute(sa.text(
            "SELECT status, total, done, added, skipped, refused, error, finished_at"
            " FROM imports WHERE id = :i"), {"i": run.import_id}).one()
        entries, positions = conn.execute(sa.text(
            "SELECT count(*), count(DISTINCT position) FROM import_entries"
            " WHERE import_id = :i"), {"i": run.import_id}).one()
        tracks, starts = conn.execute(sa.text(
            "SELECT count(*), count(DISTINCT (t.started_at, w.activity)) FROM workout_tracks t"
            " JOIN workouts w ON w.id = t.workout_id WHERE t.user_id = :u"),
            {"u": run.person.user_id}).one()
        finished = list(conn.scalars(sa.text(
            "SELECT id FROM notifications WHERE kind = 'import_finished'"
            " AND (data->>'import_id')::int = :i"), {"i": run.import_id}))
    engine.dispose()
    done, total = run.at_kill or (0, 0)
    report.say(f"the import cut by a kill: a zip of {run.files} files (tests/data's samples and "
               f"generated GPX) uploaded to the worker killed; read {done} of {total} files "
               f"when it died")
    report.require(run.at_kill is not None and done < total,
                   "it was being read when its worker was killed")
    report.require(job.status in ("done", "failed"),
                   f"it ended {job.status!r}, not left running (waited {waited:.1f} s after "
                   "the load)")
    if job.finished_at is not None:
        report.say(f"  finished {job.finished_at.timestamp() - (run.killed_at + WALL):.1f} s "
                   f"after the kill: added {job.added}, skipped {job.skipped}, refused "
                   f"{job.refused} of {job.total}" + (f"; error: {job.error}" if job.error else ""))
    report.require(entries == positions and (job.status != "done" or entries == job.total),
                   f"each file recorded once ({entries} outcomes for {positions} files "
                   f"of {job.total})")
    report.require(tracks == starts == job.added,
                   f"its workouts not doubled ({tracks} imported workouts, {starts} distinct "
                   f"starts, {job.added} added)")
    heard = [nid for nid in finished if nid in run.person.received]
    report.require(len(finished) == 1 and len(heard) == 1,
                   f"its import_finished stored once and received ({len(finished)} stored, "
                   f"{len(heard)} received)")
    report.figures.update(import_status=job.status, import_added=job.added,
                          import_finished=len(finished))


def judge_features(report: Report, load: Load, features: Features, faults: list[Fault],
                   url: str, waits: dict[str, Any]) -> None:
    judge_push(report, load, features, faults, waits["expected_pushes"], waits["pushes"])
    judge_reminders(report, load, features, faults, url)
    judge_import(report, features, url, waits["import"])
