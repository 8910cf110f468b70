"""Races on one user's data hold on PostgreSQL as they do on SQLite.

SQLite serialises writers, so these pass there by construction; PostgreSQL runs
transactions side by side, which is where deadlocks, duplicate keys and
out-of-order notification ids would show up. Each test runs on both.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from fitness_app.extensions import db
from fitness_app.models import Achievement, AnnouncementRead, Kudos, Notification, User, Workout
from fitness_app.services.accounts import passwords
from fitness_app.services.notifications import read_marks, store
from fitness_app.services.notifications.delivery import delivery
from fitness_app.services.notifications.unread_counts import unread_count
from fitness_app.services.social import comments, kudos
from fitness_app.services.training import goals, workouts
from tests.conftest import built_app
from tests.databases import POSTGRESQL
from tests.live import wait_until

THREADS = 12


@pytest.fixture
def app(database: str):
    """The conftest app, with a pool big enough for every thread to hold a connection."""
    options = {"pool_size": THREADS + 2, "pool_pre_ping": True}
    with built_app(database, SQLALCHEMY_ENGINE_OPTIONS=options) as app:
        yield app


def make_user(app: Flask, name: str = "ann") -> int:
    with app.app_context():
        user = User(username=name, email=f"{name}@example.com",
                    password_hash=passwords.hash_password("password1"))
        db.session.add(user)
        db.session.commit()
        return user.id


def run_together(app: Flask, jobs: list[Callable[[], Any]]) -> list[Any]:
    """Start every job at the same moment, each in its own app context and session."""
    start = threading.Barrier(len(jobs))

    def run(job: Callable[[], Any]) -> Any:
        with app.app_context():
            start.wait()
            try:
                return job()
            finally:
                db.session.remove()

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


def count(app: Flask, query: sa.Select[Any]) -> int:
    with app.app_context():
        return db.session.scalar(query)


def test_concurrent_logs_by_one_user_neither_deadlock_nor_miss_the_goal(app):
    user_id = make_user(app)
    with app.app_context():
        goals.create_goal(user_id, "workouts", 3, "week")

    def log() -> None:
        workouts.log_workout(
            user_id, workouts.WorkoutInput("Run", "run", 30, 5.0, date.today()), completed=True
        )

    run_together(app, [log] * THREADS)

    kinds = sa.select(sa.func.count(Notification.id)).where(Notification.user_id == user_id)
    completed = count(app, kinds.where(Notification.kind == "workout_completed"))
    achieved = count(app, kinds.where(Notification.kind == "goal_achieved"))
    assert (completed, achieved) == (THREADS, 1)
    assert count(app, sa.select(sa.func.count(Achievement.id))) == 1


def test_concurrent_completions_of_one_workout_notify_once(app):
    user_id = make_user(app)
    with app.app_context():
        goals.create_goal(user_id, "workouts", 1, "week")
        workout = workouts.log_workout(
            user_id, workouts.WorkoutInput("Run", "run", 30, 5.0, date.today()), completed=False
        )
        workout_id = workout.id

    results = run_together(app, [lambda: workouts.complete_workout(user_id, workout_id)] * THREADS)

    assert results.count(workouts.Completion.COMPLETED) == 1
    assert results.count(workouts.Completion.ALREADY_COMPLETED) == THREADS - 1
    assert count(app, sa.select(sa.func.count(Notification.id))) == 2  # completed + achieved
    assert count(app, sa.select(sa.func.count(Achievement.id))) == 1


def test_concurrent_read_marks_of_announcements_all_succeed(app):
    user_id = make_user(app)
    with app.app_context():
        ids = [store.announce(None, f"News {n}").id for n in range(3)]

    def mark_all() -> None:
        read_marks.mark_all_read(db.session.get(User, user_id))

    def mark_one(notification_id: int) -> Callable[[], None]:
        return lambda: read_marks.mark_read(db.session.get(User, user_id), notification_id)

    jobs = [mark_all] * (THREADS // 2) + [mark_one(ids[n % 3]) for n in range(THREADS // 2)]
    run_together(app, jobs)

    # "Mark all read" moved the watermark past all three and left no rows behind.
    assert count(app, sa.select(sa.func.count()).select_from(AnnouncementRead)) == 0
    with app.app_context():
        assert unread_count(user_id) == 0


def _waiting_for_a_lock(app: Flask, backend_pid: int) -> bool:
    with app.app_context():
        return bool(
            db.session.scalar(
                sa.text("SELECT count(*) FROM pg_locks WHERE pid = :pid AND NOT granted"),
                {"pid": backend_pid},
            )
        )


@pytest.mark.parametrize("database", [POSTGRESQL], indirect=True)
@pytest.mark.parametrize("first_kind", ["personal", "announcement"])
def test_notification_ids_follow_commit_order(app, database, first_kind):
    """A notification committed later never gets a smaller id than one already seen.

    Clients replay from the highest id they saw (`last_id`). On PostgreSQL a
    sequence hands out ids at INSERT, not at COMMIT, so without a lock a
    transaction that took id 10 and commits after id 11 was delivered would
    be skipped by the next replay. PostgreSQL only: SQLite serialises writers,
    so its ids follow commit order by construction.
    """
    user_id = make_user(app)
    first_flushed = threading.Event()
    first_may_commit = threading.Event()
    second_pid: list[int] = []
    ids: dict[str, int] = {}

    def first() -> None:
        with app.app_context():
            with delivery():
                if first_kind == "personal":
                    row = store.notify(user_id, "workout_completed", "Done", "First")
                else:
                    row = store.notify(None, "announcement", "Announcement", "First")
                db.session.flush()
                ids["first"] = row.id
                first_flushed.set()
                first_may_commit.wait(10)
            db.session.remove()

    def second() -> None:
        with app.app_context():
            second_pid.append(db.session.scalar(sa.text("SELECT pg_backend_pid()")))
            with delivery():
                row = store.notify(user_id, "workout_completed", "Done", "Second")
            ids["second"] = row.id
            db.session.remove()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert first_flushed.wait(10)
    threads[1].start()
    try:
        wait_until(lambda: second_pid and _waiting_for_a_lock(app, second_pid[0]), timeout=5,
                   message="the second transaction to wait for the first one's lock")
    finally:
        first_may_commit.set()
        for thread in threads:
            thread.join(10)
    assert ids["second"] > ids["first"]


RACERS = 20


def test_racing_completions_announce_one_record_and_one_streak_milestone(app):
    user_id = make_user(app)
    today = date.today()

    def run(km: float, day: date, completed: bool) -> int:
        data = workouts.WorkoutInput("Run", "run", 30, km, day)
        return workouts.log_workout(user_id, data, completed=completed).id

    with app.app_context():
        for offset in range(6, 0, -1):  # six days in a row of 5 km
            run(5.0, today - timedelta(days=offset), completed=True)
        planned = [run(12.0, today, completed=False) for _ in range(RACERS)]

    results = run_together(
        app, [functools.partial(workouts.complete_workout, user_id, w) for w in planned]
    )

    assert results.count(workouts.Completion.COMPLETED) == RACERS
    with app.app_context():
        rows = db.session.execute(
            sa.select(Notification.kind, Notification.data)
            .where(Notification.kind.in_(["personal_record", "streak"]))
            .order_by(Notification.id)
        ).all()
    since = (today - timedelta(days=6)).isoformat()
    assert [(kind, data) for kind, data in rows] == [
        ("streak", {"days": 3, "since": since}),
        ("streak", {"days": 7, "since": since}),
        ("personal_record", {"activity": "run", "record": "distance_km", "value": 12.0,
                             "previous": 5.0}),
    ]


def public_workout_of(app: Flask, user_id: int) -> int:
    with app.app_context():
        workout = workouts.log_workout(user_id, workouts.WorkoutInput(
            "Run", "run", 30, 5.0, date.today(), visibility="public"), completed=True)
        return workout.id


def test_a_crowd_giving_kudos_at_once_counts_every_one_once(app):
    owner = make_user(app, "owner")
    workout_id = public_workout_of(app, owner)
    fans = [make_user(app, f"fan{n}") for n in range(THREADS // 2)]

    def give(fan: int) -> kudos.Given:
        return kudos.give(db.session.get(User, fan), workout_id)

    # Every fan twice, all at once: each counts once.
    results = run_together(app, [functools.partial(give, fan) for fan in fans * 2])
    assert results.count(kudos.Given.GIVEN) == len(fans)
    assert results.count(kudos.Given.ALREADY) == len(fans)
    assert count(app, sa.select(Workout.kudos_count).where(Workout.id == workout_id)) == len(fans)
    assert count(app, sa.select(sa.func.count()).select_from(Kudos)) == len(fans)
    assert count(app, sa.select(sa.func.count(Notification.id))
                 .where(Notification.kind == "kudos")) == len(fans)


def test_crossed_comments_at_once_neither_deadlock_nor_miss_anyone(app):
    """Each owner commented on the others' workouts before; now all comment at once."""

    people = [make_user(app, f"p{n}") for n in range(4)]
    workout_ids = [public_workout_of(app, person) for person in people]
    with app.app_context():
        for person in people:
            for workout_id in workout_ids:
                comments.add(db.session.get(User, person), workout_id, "Before")
        before = db.session.scalar(sa.select(sa.func.count(Notification.id))
                                   .where(Notification.kind == "comment"))

    def comment(person: int, workout_id: int) -> int | None:
        return comments.add(db.session.get(User, person), workout_id, "Now")

    jobs = [functools.partial(comment, person, workout_id)
            for person in people for workout_id in workout_ids][:THREADS]
    results = run_together(app, jobs)
    assert None not in results
    # Each comment reaches the three other people: all of them commented before.
    now = count(app, sa.select(sa.func.count(Notification.id))
                .where(Notification.kind == "comment")) - before
    assert now == 3 * len(jobs)
