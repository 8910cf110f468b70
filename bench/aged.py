"""An aged database: ten years of a busy site, built in seconds through the models' tables.

`build(url, ...)` fills a database whose schema is already up to date with
`users` ordinary users, `veterans` of them with ten years of history
(`workouts` completed workouts and `notifications` notifications each, half
of them read), and `announcements` announcements spread over the ten years,
all as bulk INSERTs through `fitness_app.models`' tables (never HTTP), with
the read-state columns a real history would have left.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from fitness_app.models import Notification, User, Workout

YEARS = 10
CHUNK = 5_000


def _chunks(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [rows[i : i + CHUNK] for i in range(0, len(rows), CHUNK)]


def build(
    url: str,
    *,
    users: int,
    veterans: int,
    workouts: int,
    notifications: int,
    announcements: int,
    password_hash: str,
    seed: int = 9,
) -> dict[str, Any]:
    """Fill the database; return the veterans' ids and the row counts."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    start = now - timedelta(days=365 * YEARS)
    span = (now - start).total_seconds()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            people = [
                {"username": f"aged{i}", "email": f"aged{i}@example.com",
                 "password_hash": password_hash, "is_admin": False,
                 "created_at": start + timedelta(seconds=span * i / (2 * users)),
                 "unread_count": 0, "read_through_id": 0, "announcements_after_id": 0}
                for i in range(users)
            ]
            for chunk in _chunks(people):
                conn.execute(User.__table__.insert(), chunk)
            veteran_ids = list(conn.scalars(
                sa.select(User.id).where(User.username.like("aged%")).order_by(User.id)
                .limit(veterans)))
            history: list[tuple[datetime, dict[str, Any]]] = []
            for n in range(announcements):
                moment = start + timedelta(seconds=span * (n + 0.5) / announcements)
                history.append((moment, {"user_id": None, "kind": "announcement",
                                         "title": "Announcement", "message": f"News {n}",
                                         "data": {"author": None}, "created_at": moment,
                                         "read_at": None, "announcement_seq": n + 1}))
            unread: dict[int, int] = {}
            for user_id in veteran_ids:
                days = sorted(rng.sample(range(365 * YEARS), workouts))
                rows = [
                    {"user_id": user_id, "title": f"Run {d}", "activity": "run",
                     "duration_minutes": 30 + d % 40, "distance_km": 5.0 + d % 7,
                     "performed_on": date.fromordinal(start.date().toordinal() + d),
                     "completed_at": start + timedelta(days=d, hours=7),
                     "created_at": start + timedelta(days=d, hours=7)}
                    for d in days
                ]
                for chunk in _chunks(rows):
                    conn.execute(Workout.__table__.insert(), chunk)
                for n in range(notifications):
                    moment = start + timedelta(seconds=span * (n + 0.5) / notifications)
                    read = n < notifications // 2
                    history.append((moment, {
                        "user_id": user_id, "kind": "workout_completed",
                        "title": "Workout completed", "message": f"Run {n}, 5 km in 30 min",
                        "data": {"workout_id": 0, "activity": "run"}, "created_at": moment,
                        "read_at": moment if read else None, "announcement_seq": None}))
                unread[user_id] = notifications - notifications // 2
            history.sort(key=lambda item: item[0])
            for chunk in _chunks([row for _, row in history]):
                conn.execute(Notification.__table__.insert(), chunk)
            for user_id, count in unread.items():
                conn.execute(sa.update(User.__table__).where(User.__table__.c.id == user_id)
                             .values(unread_count=count))
            latest = conn.scalar(sa.select(sa.func.max(Notification.__table__.c.id))) or 0
    finally:
        engine.dispose()
    return {"veterans": veteran_ids, "latestId": latest, "users": users,
            "announcements": announcements, "workoutsEach": workouts,
            "notificationsEach": notifications}
