"""Kudos from a crowd on one workout: `python -m bench.kudos [--database postgresql]`.

FANS users, each signed in with a client of their own, give kudos to one
public workout, one POST after another, in this process (threading mode, the
Flask test client: no server, no socket load), on a fresh database. Printed:
each POST's wall time (p50, p90, p99, max), the median of the first and the
last hundred (equal when nothing a kudos does grows with the kudos before
it), the SQL statements of the first and the last POST, the workout
page's time before and after, and, as the reference measured in between, each
fan's "mark all read" POST (one small UPDATE and COMMIT). The kudos POST's own cost is what any one
person waits for while the crowd gives theirs, so it must stay small and flat.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.databases import PostgresStore, SqliteStore  # noqa: E402
from fitness_app import create_app  # noqa: E402
from fitness_app.extensions import db  # noqa: E402
from fitness_app.models import User, Workout  # noqa: E402

FANS = 1000
PASSWORD = "bench-password"
HASH_METHOD = "scrypt:1024:8:1"  # sign-ins are not what is measured
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def statements(engine: sa.Engine, request: Callable[[], object]) -> int:
    """How many statements `request` runs on this thread (not the push dispatchers')."""
    count = 0
    me = threading.get_ident()

    def record(*args: object) -> None:
        nonlocal count
        count += threading.get_ident() == me

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        request()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return count


def run(url: str, fans: int) -> dict[str, object]:
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False,
                                 "PASSWORD_HASH_METHOD": HASH_METHOD})
    hashed = generate_password_hash(PASSWORD, HASH_METHOD)
    with app.app_context():
        db.create_all()
        db.session.add_all(User(username=f"fan{n}", email=f"fan{n}@example.com",
                                password_hash=hashed) for n in range(fans + 1))
        db.session.commit()
        engine = db.engine
    clients = []
    for n in range(fans + 1):
        client = app.test_client()
        response = client.post("/auth/login", data={"email": f"fan{n}@example.com",
                                                    "password": PASSWORD})
        assert response.status_code == 302, response.status_code
        clients.append(client)
    owner, crowd = clients[0], clients[1:]
    owner.post("/workouts/new", data={
        "title": "Marathon", "activity": "run", "duration_minutes": "200",
        "distance_km": "42.2", "performed_on": date.today().isoformat(), "completed": "y",
        "visibility": "public"})
    with app.app_context():
        workout = db.session.scalar(sa.select(sa.func.max(Workout.id)))

    def page() -> float:
        start = time.perf_counter()
        assert owner.get(f"/workouts/{workout}").status_code == 200
        return time.perf_counter() - start

    page_before = min(page() for _ in range(5))
    timings: list[float] = []
    reference: list[float] = []
    counts: list[int] = []
    for n, client in enumerate(crowd):
        def give(client=client) -> None:
            start = time.perf_counter()
            assert client.post(f"/workouts/{workout}/kudos").status_code == 303
            timings.append(time.perf_counter() - start)

        if n in (0, len(crowd) - 1):
            counts.append(statements(engine, give))
        else:
            give()
        # The reference, interleaved: the same person's "mark all read", one small
        # UPDATE and COMMIT, so a busy machine slows both sides alike.
        start = time.perf_counter()
        assert client.post("/notifications/read-all").status_code in (302, 303)
        reference.append(time.perf_counter() - start)
    page_after = min(page() for _ in range(5))
    with app.app_context():
        stored = db.session.scalar(sa.select(Workout.kudos_count).where(Workout.id == workout))
        db.session.remove()
        db.engine.dispose()
    ms = [t * 1000 for t in timings]
    return {
        "fans": fans, "kudos_count": stored, "total_s": round(sum(timings), 2),
        "p50_ms": round(statistics.median(ms), 2), "p90_ms": round(percentile(ms, 0.9), 2),
        "p99_ms": round(percentile(ms, 0.99), 2), "max_ms": round(max(ms), 2),
        "reference_read_all_p50_ms": round(statistics.median(reference) * 1000, 2),
        "first_100_p50_ms": round(statistics.median(ms[:100]), 2),
        "last_100_p50_ms": round(statistics.median(ms[-100:]), 2),
        "statements_first_last": counts,
        "page_ms_before_after": [round(page_before * 1000, 2), round(page_after * 1000, 2)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    parser.add_argument("--fans", type=int, default=FANS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        store = (PostgresStore(args.postgres_url) if args.database == "postgresql"
                 else SqliteStore(Path(workdir)))
        with store.database() as url:
            result = run(url, args.fans)
    print(json.dumps({"database": args.database, **result}))


if __name__ == "__main__":
    main()
