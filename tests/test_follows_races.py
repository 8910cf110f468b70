"""Racing follows, accepts and blocks keep the counters equal to the rows they count.

Run on both databases; PostgreSQL is where transactions really overlap, so it
is where a counter moved twice, a request notified twice or a deadlock
between two people acting on each other would show.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from fitness_app.extensions import db
from fitness_app.models import Follow, Notification, User
from fitness_app.services.social import blocks, follows
from tests.conftest import built_app
from tests.test_concurrency import THREADS, make_user, run_together


@pytest.fixture
def app(database: str) -> Iterator[Flask]:
    """The conftest app, with a pool big enough for every thread to hold a connection."""
    options = {"pool_size": THREADS + 2, "pool_pre_ping": True}
    with built_app(database, SQLALCHEMY_ENGINE_OPTIONS=options) as app:
        yield app


def counters_match_rows(app: Flask) -> None:
    """Every user's stored counters equal a COUNT(*) of the follows they stand for."""
    with app.app_context():
        for user in db.session.scalars(sa.select(User)):
            def counted(*where: sa.ColumnElement[bool]) -> int:
                return db.session.scalar(sa.select(sa.func.count()).select_from(Follow)
                                         .where(*where))
            assert (user.followers_count, user.following_count, user.follow_requests_count) == (
                counted(Follow.followee_id == user.id, Follow.accepted),
                counted(Follow.follower_id == user.id, Follow.accepted),
                counted(Follow.followee_id == user.id, ~Follow.accepted),
            ), user.username


def ask_job(asker_id: int, followee_id: int):
    return lambda: follows.ask(db.session.get(User, asker_id), followee_id)


def test_one_request_sent_many_times_at_once_is_stored_and_told_once(app):
    ann, bob = make_user(app, "ann"), make_user(app, "bob")
    results = run_together(app, [ask_job(ann, bob)] * THREADS)
    assert results.count(follows.Asked.REQUESTED) == 1
    assert results.count(follows.Asked.ALREADY) == THREADS - 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 1
    counters_match_rows(app)


def test_people_accepting_each_other_at_once_neither_deadlock_nor_miscount(app):
    ids = [make_user(app, f"user{n}") for n in range(4)]
    pairs = list(itertools.permutations(ids, 2))  # 12 requests, each way between each pair
    run_together(app, [ask_job(a, b) for a, b in pairs])
    counters_match_rows(app)

    def accept_job(asker_id: int, followee_id: int):
        return lambda: follows.accept(db.session.get(User, followee_id), asker_id)

    assert all(run_together(app, [accept_job(a, b) for a, b in pairs]))
    counters_match_rows(app)
    with app.app_context():
        assert {u.followers_count for u in db.session.scalars(sa.select(User))} == {3}
        accepted = sa.select(sa.func.count(Notification.id)).where(
            Notification.kind == "follow_accepted")
        assert db.session.scalar(accepted) == len(pairs)


def test_blocks_racing_accepts_and_unfollows_leave_counters_true(app):
    ids = [make_user(app, f"user{n}") for n in range(4)]
    pairs = list(itertools.permutations(ids, 2))
    run_together(app, [ask_job(a, b) for a, b in pairs])

    def job(n: int, asker_id: int, followee_id: int):
        if n % 3 == 0:
            return lambda: blocks.block(db.session.get(User, followee_id), asker_id)
        if n % 3 == 1:
            return lambda: follows.unfollow(db.session.get(User, asker_id), followee_id)
        return lambda: follows.accept(db.session.get(User, followee_id), asker_id)

    run_together(app, [job(n, a, b) for n, (a, b) in enumerate(pairs)])
    counters_match_rows(app)
