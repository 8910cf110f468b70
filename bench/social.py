"""The social layer's bounded work: the `feed_item` fan-out, and the feed page on ten years.

Run: `.venv/bin/python -m bench.social` (both databases; `--help` for sizes).

- fan-out: an app server as `make run` serves it (eventlet on SQLite, gevent
  on PostgreSQL, under the loop-lag probe `bench/probed.py`), a user with
  `--followers` accepted followers, `--sockets` of them with a socket open
  (bench/client.js, Node), spread evenly over the followers in id order and
  ending with the last, so "last" is the fan-out's last batch. The user
  completes a workout `--rounds` times through the real form; each round
  times the POST's response, the `feed_item` at the first and at the last
  follower's socket, and the server's worst loop lag over the round.
- feed page: in-process (the Flask test client, as a browser would GET it),
  a user who follows `--followees` people, each with `--aged-workouts`
  completed workouts over ten years (`aged.YEARS`, a third of each
  visibility) against the same with `--fresh-workouts` each: the time of
  `/feed` and of a page further down (`?before=`), the two databases' runs
  interleaved, `--pages` times each.
- kudos: `bench/kudos.py` (a crowd of 1,000 on one workout, in-process).

PostgreSQL's databases are created for the run and dropped after it
(`bench/databases.py`), on `--postgres` (the shared server's `test` by default).
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench import aged
from bench.databases import (
    PASSWORD,
    PostgresStore,
    SqliteStore,
    prepare_app_database,
    served_mode,
)
from bench.processes import LoadClient, Server, log
from fitness_app.models import Follow, User, Workout
from tests.social_rows import recount_follows

LEVELS = ("private", "followers", "public")
CHUNK = 5_000


def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        conn.execute(table.insert(), rows[start : start + CHUNK])


def add_followers(url: str, author: int, followers: list[int]) -> None:
    """Every one of `followers` follows `author`, accepted."""
    now = datetime.now(UTC)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        _insert(conn, Follow.__table__, [
            {"follower_id": f, "followee_id": author, "accepted": True, "created_at": now}
            for f in followers])
        recount_follows(conn)
    engine.dispose()


def add_followees(url: str, viewer: int, followees: int, workouts_each: int,
                  seed: int = 20) -> int:
    """`followees` people with `workouts_each` completed workouts over ten years, a third of
    each visibility, inserted in time order as a site's history would be; `viewer` follows
    them all. Returns the workouts inserted."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    start = now - timedelta(days=365 * aged.YEARS)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        _insert(conn, User.__table__, [
            {"username": f"followed{i}", "email": f"followed{i}@example.com",
             "password_hash": "!", "is_admin": False, "created_at": start,
             "unread_count": 0, "read_through_id": 0, "announcements_after_id": 0}
            for i in range(followees)])
        ids = list(conn.scalars(sa.select(User.id).where(User.username.like("followed%"))))
        _insert(conn, Follow.__table__, [
            {"follower_id": viewer, "followee_id": f, "accepted": True, "created_at": start}
            for f in ids])
        recount_follows(conn)
        span = 365 * aged.YEARS
        days = sorted((rng.randrange(span), owner) for owner in ids for _ in range(workouts_each))
        first = start.date().toordinal()
        for at in range(0, len(days), CHUNK):
            conn.execute(Workout.__table__.insert(), [
                {"user_id": owner, "title": f"Run {day}", "activity": "run",
                 "duration_minutes": 30 + day % 40, "distance_km": 5.0 + day % 7,
                 "performed_on": date.fromordinal(first + day),
                 "completed_at": start + timedelta(days=day, hours=7),
                 "created_at": start + timedelta(days=day, hours=7),
                 "visibility": LEVELS[(at + n) % 3]}
                for n, (day, owner) in enumerate(days[at : at + CHUNK])])
    if engine.dialect.name == "postgresql":
        # What autovacuum leaves on a ten-year-old database: statistics, and a
        # visibility map that lets the feed's index-only scans skip the heap.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()
    return len(days)


# --- the feed page ---------------------------------------------------------------------


def feed_pages(store: Any, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """`/feed` and a page further down, fresh against aged, interleaved."""
    from fitness_app import create_app
    from fitness_app.extensions import db

    sizes = {"fresh": args.fresh_workouts, "aged": args.aged_workouts}
    out: dict[str, Any] = {"followees": args.followees, "workoutsEach": sizes}
    with store.database() as fresh_url, store.database() as aged_url:
        clients = {}
        apps = []
        for name, url in (("fresh", fresh_url), ("aged", aged_url)):
            env = {**os.environ, "SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": url,
                   "INSTANCE_PATH": str(workdir / f"instance-feed-{store.name}-{name}")}
            viewer = prepare_app_database(url, env, 1)[0]
            t0 = time.monotonic()
            rows = add_followees(url, viewer["id"], args.followees, sizes[name])
            out[f"{name}Workouts"] = rows
            out[f"{name}BuildSeconds"] = round(time.monotonic() - t0, 1)
            log(f"feed/{store.name}: {name} database, {rows} workouts, "
                f"built in {out[f'{name}BuildSeconds']} s")
            app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url,
                                         "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
            apps.append(app)
            client = app.test_client()
            assert client.post("/auth/login", data={"email": "bench0@example.com",
                                                    "password": PASSWORD}).status_code == 302
            first = client.get("/feed")
            assert first.status_code == 200 and first.get_data(as_text=True).count(
                'class="item feed-item"') == 20, f"{name}: the feed's first page is not full"
            # A page far down: ten pages of 20 on, or the last one a small run has.
            before, depth, html = None, 0, first.get_data(as_text=True)
            while depth < 10 and "/feed?before=" in html:
                before = int(html.split("/feed?before=")[1].split('"')[0])
                depth += 1
                html = client.get(f"/feed?before={before}").get_data(as_text=True)
            out[f"{name}Depth"] = depth + 1
            clients[name] = (client, before)
        times: dict[str, list[float]] = {f"{n} {p}": [] for n in clients for p in ("1", "10")}
        for _ in range(args.pages):
            for name, (client, before) in clients.items():
                for label, path in (("1", "/feed"),
                                    ("10", f"/feed?before={before}" if before else "/feed")):
                    t0 = time.perf_counter()
                    assert client.get(path).status_code == 200
                    times[f"{name} {label}"].append((time.perf_counter() - t0) * 1000)
        out["ms"] = {key: summary(values) for key, values in times.items()}
        for app in apps:
            with app.app_context():
                db.engine.dispose()
    for key, figures in out["ms"].items():
        log(f"feed/{store.name}: {key}: p25 {figures['p25']:.1f} ms, "
            f"p50 {figures['p50']:.1f} ms, p90 {figures['p90']:.1f} ms")
    return out


def quantile(values: list[float], q: float) -> float:
    """The value at quantile `q` (nearest rank; the median for 0.5)."""
    ordered = sorted(values)
    if q == 0.5:
        return statistics.median(ordered)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    at = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"n": len(ordered), "p25": at(0.25), "p50": statistics.median(ordered),
            "p90": at(0.9), "max": ordered[-1]}


# --- the fan-out -----------------------------------------------------------------------


def fan_out(store: Any, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """A user with `--followers` followers, `--sockets` of them connected, completes workouts."""
    mode = served_mode("eventlet", store.name)
    name = f"social-{store.name}"
    env = {"SECRET_KEY": secrets.token_hex(32), "INSTANCE_PATH": str(workdir / f"instance-{name}"),
           "MAX_CONNECTIONS": str(args.sockets + 1000), "ASYNC_MODE": mode}
    out: dict[str, Any] = {"mode": mode, "followers": args.followers, "rounds": []}
    with store.database() as url:
        env["DATABASE_URL"] = url
        users = sorted((u for u in prepare_app_database(url, {**os.environ, **env},
                                                         args.followers + 1) if not u["admin"]),
                       key=lambda u: u["id"])
        author, followers = users[0], users[1:]
        add_followers(url, author["id"], [u["id"] for u in followers])
        # Spread over the follower ids, ending with the highest: the fan-out reads them in id
        # order, so the last socket is the last batch's, not the first batch's.
        step = len(followers) / min(args.sockets, len(followers))
        listening = [followers[round((i + 1) * step) - 1]
                     for i in range(min(args.sockets, len(followers)))]
        server = Server("app", workdir, name, env)
        client = LoadClient(workdir, max_seconds=args.max_seconds)
        try:
            server.start()
            login = client.call("login", timeout=120 + len(listening) * 0.05, base=server.url,
                                users=[author, *listening], admin=None, password=PASSWORD,
                                concurrency=4)
            if login["loggedIn"] != len(listening) + 1:
                raise RuntimeError(f"{name}: login failed: {login}")
            opened = client.call("connect", timeout=120 + len(listening) * 0.05, mode="app",
                                 targets=[{"url": server.url,
                                           "users": [u["id"] for u in listening]}],
                                 concurrency=50)
            out["connected"] = opened["connected"]
            time.sleep(1)
            for round_ in range(args.rounds):
                t0 = time.monotonic()
                result = client.call("feed", timeout=90, base=server.url, author=author["id"],
                                     timeoutMs=60_000)
                t1 = time.monotonic()
                result["lag"] = server.lag(t0, t1)
                out["rounds"].append(result)
                log(f"{name} round {round_ + 1}: POST {result['postMs']:.1f} ms (status "
                    f"{result['status']}), feed_item at {result['received']}/"
                    f"{result['expected']} sockets, first {result['firstMs'] or 0:.1f} ms, "
                    f"last {result['lastMs'] or 0:.1f} ms, loop lag max "
                    f"{result['lag']['max'] or 0:.1f} ms")
                time.sleep(1)
        finally:
            client.close()
            server.stop()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--databases", default="sqlite,postgresql")
    p.add_argument("--phases", default="fanout,feed")
    p.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                   help="admin URL: a database is created per measurement and dropped")
    p.add_argument("--followers", type=int, default=10_000)
    p.add_argument("--sockets", type=int, default=2_000, help="followers with a socket open")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--followees", type=int, default=1_000)
    p.add_argument("--aged-workouts", type=int, default=1_000, help="per followed person")
    p.add_argument("--fresh-workouts", type=int, default=30, help="per followed person")
    p.add_argument("--pages", type=int, default=30, help="GETs of each page")
    p.add_argument("--max-seconds", type=int, default=900)
    args = p.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-social-"))
    results: dict[str, Any] = {}
    for database in args.databases.split(","):
        store = SqliteStore(workdir) if database == "sqlite" else PostgresStore(args.postgres)
        if "fanout" in args.phases:
            results[f"fanout {database}"] = fan_out(store, workdir, args)
        if "feed" in args.phases:
            results[f"feed {database}"] = feed_pages(store, workdir, args)
    print(report(results))


def report(results: dict[str, Any]) -> str:
    lines = []
    for key, out in results.items():
        if key.startswith("fanout"):
            lines += [f"\n{key} ({out['mode']}): {out['followers']} followers, "
                      f"{out['connected']} sockets", "",
                      "| round | POST ms | first feed_item ms | last feed_item ms | received | "
                      "loop lag max ms |", "|---|---|---|---|---|---|"]
            lines += [f"| {i + 1} | {r['postMs']:.1f} | {r['firstMs'] or 0:.1f} | "
                      f"{r['lastMs'] or 0:.1f} | {r['received']}/{r['expected']} | "
                      f"{r['lag']['max'] or 0:.1f} |" for i, r in enumerate(out["rounds"])]
            for label, q in (("p50", 0.5), ("p99", 0.99)):
                cells = [quantile([r[k] or 0 for r in out["rounds"]], q)
                         for k in ("postMs", "firstMs", "lastMs")]
                lines.append(f"| {label} | " + " | ".join(f"{c:.1f}" for c in cells) + " | | "
                             f"{quantile([r['lag']['max'] or 0 for r in out['rounds']], q):.1f} |")
        else:
            lines += [f"\n{key}: following {out['followees']} people; fresh "
                      f"{out['freshWorkouts']} workouts, aged {out['agedWorkouts']}; "
                      f"page \"10\" is page {out['freshDepth']} (fresh) and "
                      f"{out['agedDepth']} (aged)", "",
                      "| database, page | p25 ms | p50 ms | p90 ms |", "|---|---|---|---|"]
            lines += [f"| {k} | {f['p25']:.1f} | {f['p50']:.1f} | {f['p90']:.1f} |"
                      for k, f in out["ms"].items()]
            for p in ("1", "10"):
                ratio = out["ms"][f"aged {p}"]["p50"] / out["ms"][f"fresh {p}"]["p50"]
                lines.append(f"| aged/fresh page {p}, p50 | | {ratio:.2f} | |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
