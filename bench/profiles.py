"""What a profile page costs with ten years behind it, against one with a few weeks.

In-process (the Flask test client, no network), on SQLite and PostgreSQL: a
veteran with `--history` completed workouts, split between `private` and
`followers`, plus 30 `public` ones at the very start of the ten years (the
worst case for a stranger: everything newer is hidden from them), beside a
newcomer with 30 workouts of each level. Three viewers ask for each profile,
interleaved: a stranger, an accepted follower, and the follower's page two
(`?before=`). Each figure is the median and lower quartile of `--rounds`
requests, in ms; the ratio veteran ÷ newcomer is what must stay near 1.

Run: `.venv/bin/python bench/profiles.py` (about a minute; `--databases sqlite`).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from fitness_app.extensions import db  # noqa: E402
from fitness_app.models import Follow, User, Workout  # noqa: E402
from tests.conftest import built_app, signed_in_client  # noqa: E402
from tests.databases import postgres_schema  # noqa: E402
from tests.social_rows import recount_follows  # noqa: E402

START = date.today() - timedelta(days=3650)


def fill(app, username: str, levels: list[str]) -> None:
    """Completed workouts for `username`, one a row of `levels`, oldest first, by bulk INSERT."""
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.username == username))
        rows = [{"user_id": user_id, "title": f"Run {n}", "activity": "run",
                 "duration_minutes": 30, "distance_km": 5.0, "visibility": level,
                 "performed_on": START + timedelta(days=n * 3650 // len(levels)),
                 "completed_at": datetime.now(UTC), "created_at": datetime.now(UTC)}
                for n, level in enumerate(levels)]
        for at in range(0, len(rows), 5000):
            db.session.execute(sa.insert(Workout.__table__), rows[at:at + 5000])
        db.session.commit()


def follow(app, follower: str, followee: str) -> None:
    with app.app_context():
        ids = dict(db.session.execute(sa.select(User.username, User.id)).all())
        db.session.add(Follow(follower_id=ids[follower], followee_id=ids[followee],
                              accepted=True))
        db.session.flush()
        recount_follows(db.session.connection())
        db.session.commit()


def run(url: str, history: int, rounds: int) -> dict[str, tuple[float, float]]:
    with built_app(url, RATELIMIT_ENABLED=False) as app:
        stranger, fan = signed_in_client(app, "stranger"), signed_in_client(app, "fan")
        for name in ("veteran", "newcomer"):
            signed_in_client(app, name)
            follow(app, "fan", name)
        old = ["public"] * 30 + ["private", "followers"] * (history // 2)
        fill(app, "veteran", old)
        fill(app, "newcomer", ["private", "followers", "public"] * 30)
        with app.app_context():
            if db.engine.dialect.name == "postgresql":
                db.session.execute(sa.text("ANALYZE"))
                db.session.commit()
        second = {name: re.search(r'href="(/u/\w+\?before=\d+)"', fan.get(f"/u/{name}").text)
                  .group(1) for name in ("veteran", "newcomer")}
        cases = {f"{who}, {name}": (client, path)
                 for name in ("veteran", "newcomer")
                 for who, client, path in (("stranger", stranger, f"/u/{name}"),
                                           ("follower", fan, f"/u/{name}"),
                                           ("follower page 2", fan, second[name]))}
        times: dict[str, list[float]] = {case: [] for case in cases}
        for _ in range(rounds):
            for case, (client, path) in cases.items():
                began = time.perf_counter()
                response = client.get(path)
                times[case].append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200
    return {case: (statistics.median(t), statistics.quantiles(t, n=4)[0])
            for case, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    for kind in args.databases:
        if kind == "postgresql":
            with postgres_schema() as url:
                figures = run(url, args.history, args.rounds)
        else:
            with tempfile.TemporaryDirectory() as folder:
                figures = run(f"sqlite:///{folder}/bench.db", args.history, args.rounds)
        print(f"\n{kind}: GET /u/<name>, ms (median / lower quartile), "
              f"veteran {args.history + 30} workouts, newcomer 90")
        print("| viewer | veteran | newcomer | ratio (median) |\n|---|---|---|---|")
        for who in ("stranger", "follower", "follower page 2"):
            vet, new = figures[f"{who}, veteran"], figures[f"{who}, newcomer"]
            print(f"| {who} | {vet[0]:.2f} / {vet[1]:.2f} | {new[0]:.2f} / {new[1]:.2f} "
                  f"| {vet[0] / new[0]:.2f} |")


if __name__ == "__main__":
    main()
