"""Everything a user has, as one JSON document written piece by piece.

A user with ten years of workouts must not cost ten years of rows in memory, or
hold the event loop while they are read. So each section is read in keyset
pages of PAGE_SIZE rows through an index, as plain rows rather than ORM objects
(a fifth of the CPU), turned into JSON and let go. After every page:
- the transaction ends, which hands the database connection back to the pool
  while the browser downloads, so a slow download holds no connection;
- the task yields to the loop (`socketio.sleep(0)`), so under eventlet other
  users are served between pages, not after the last one.
The format is documented in docs/interface.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa

from fitness_app.extensions import db, socketio
from fitness_app.models import (
    Achievement,
    Comment,
    Follow,
    Goal,
    Kudos,
    Notification,
    User,
    Workout,
    WorkoutTrack,
)
from fitness_app.services.imports.gpx_out import track_gpx
from fitness_app.services.notifications import inbox
from fitness_app.services.notifications.links import links_for
from fitness_app.services.notifications.payload import group_of, iso_utc
from fitness_app.services.notifications.unread_counts import unread_among
from fitness_app.services.social.visibility import seen_by

FORMAT = "fitness_app.export"
VERSION = 1
PAGE_SIZE = 250
# Columns of `users` that stay out of an export. A column holding a secret goes here.
PRIVATE_USER_COLUMNS = ("password_hash",)
Row = dict[str, Any]


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date | time):
        return value.isoformat()
    return value


def _row(values: Mapping[str, Any]) -> Row:
    return {key: _value(value) for key, value in values.items()}


def _fields(model: type, leave_out: Iterable[str] = ()) -> list[str]:
    """Every column attribute of a model but `leave_out`: one added later is exported too."""
    skip = set(leave_out)
    return [attr.key for attr in sa.inspect(model).column_attrs if attr.key not in skip]


def _select(model: type, leave_out: Iterable[str] = ()) -> sa.Select[Any]:
    return sa.select(*(getattr(model, key) for key in _fields(model, leave_out)))


def profile(user: User) -> Row:
    """Every column of the user but the password hash: settings added later come along."""
    return _row({key: getattr(user, key) for key in _fields(User, PRIVATE_USER_COLUMNS)})


def _workouts(user_id: int) -> Iterator[list[Row]]:
    """Oldest first, by (performed_on, id): the order of the ix_workouts_user_day index."""
    query = _select(Workout, ["user_id"]).where(Workout.user_id == user_id)
    after: tuple[date, int] | None = None
    while True:
        page = query if after is None else query.where(
            sa.tuple_(Workout.performed_on, Workout.id) > after
        )
        rows = db.session.execute(
            page.order_by(Workout.performed_on, Workout.id).limit(PAGE_SIZE)
        ).mappings().all()
        if not rows:
            return
        after = (rows[-1]["performed_on"], rows[-1]["id"])
        yield [_row(r) | {"completed": r["completed_at"] is not None} for r in rows]


def _pages_by_id(query: sa.Select[Any], id_column: Any) -> Iterator[list[Row]]:
    """Keyset pages of `query` in id order, as plain rows."""
    after = 0
    while True:
        rows = db.session.execute(
            query.where(id_column > after).order_by(id_column).limit(PAGE_SIZE)
        ).mappings().all()
        if not rows:
            return
        after = rows[-1][id_column.key]
        yield [_row(r) for r in rows]


def _goals(user_id: int) -> Iterator[list[Row]]:
    query = _select(Goal, ["user_id"]).where(Goal.user_id == user_id)
    return _pages_by_id(query, Goal.id)


def _achievements(user_id: int) -> Iterator[list[Row]]:
    query = (
        _select(Achievement)
        .join(Goal, Goal.id == Achievement.goal_id)
        .where(Goal.user_id == user_id)
    )
    return _pages_by_id(query, Achievement.id)


def _notifications(user_id: int) -> Iterator[list[Row]]:
    """The inbox, oldest first, announcements included, each with its read state.

    Through the inbox and unread-count services, which own what a user may
    see and what counts as read.
    """
    fields = _fields(Notification, ["user_id", "author_id", "group_key"])
    after = 0
    while True:
        user = db.session.get(User, user_id)
        rows = inbox.list_after(user, after, PAGE_SIZE)
        if not rows:
            return
        after = rows[-1].id
        unread = unread_among(user, [n.id for n in rows])
        links = links_for(rows)
        yield [
            _row({key: getattr(n, key) for key in fields})
            | {"message": links.message(n), "announcement": n.user_id is None,
               "read": n.id not in unread, "group": group_of(n)}
            for n in rows
        ]


def _tracks(user_id: int) -> Iterator[list[Row]]:
    """Each route from an imported file, as a GPX document of its own, by workout id."""
    query = (
        sa.select(WorkoutTrack.workout_id, WorkoutTrack.started_at, WorkoutTrack.route,
                  Workout.title, Workout.activity)
        .join(Workout, Workout.id == WorkoutTrack.workout_id)
        .where(WorkoutTrack.user_id == user_id)
    )
    for page in _pages_by_id(query, WorkoutTrack.workout_id):
        yield [{"workout_id": r["workout_id"], "started_at": r["started_at"],
                "gpx": track_gpx(r["route"], r["title"], r["activity"],
                                 datetime.fromisoformat(r["started_at"].replace("Z", "+00:00")))}
               for r in page]


def _follows(user_id: int, mine: Any, theirs: Any) -> Iterator[list[Row]]:
    """One side of the user's follows, accepted ones first, then those still asked.

    Each part is keyset pages by the other user's id: one range of the
    primary key (`following`) or of `ix_follows_followee` (`followers`).
    """
    for accepted in (True, False):
        query = (
            sa.select(theirs, User.username, Follow.accepted, Follow.created_at)
            .join(User, User.id == theirs)
            .where(mine == user_id, Follow.accepted == accepted)
        )
        for page in _pages_by_id(query, theirs):
            yield [{"username": r["username"], "accepted": r["accepted"],
                    "created_at": r["created_at"]} for r in page]


def _following(user_id: int) -> Iterator[list[Row]]:
    """Who the user follows (`accepted` false: asked, not answered yet)."""
    return _follows(user_id, Follow.follower_id, Follow.followee_id)


def _followers(user_id: int) -> Iterator[list[Row]]:
    """Who follows the user (`accepted` false: waiting for the user's answer)."""
    return _follows(user_id, Follow.followee_id, Follow.follower_id)


def _kudos(user_id: int) -> Iterator[list[Row]]:
    """Kudos the user gave, by workout id (`ix_kudos_user`).

    Only on workouts the user may still see: the one rule holds in the
    export too, so a block or a workout made private takes them out.
    """
    query = (
        sa.select(Kudos.workout_id, Kudos.created_at)
        .join(Workout, Workout.id == Kudos.workout_id)
        .where(Kudos.user_id == user_id, seen_by(user_id))
    )
    return _pages_by_id(query, Kudos.workout_id)


def _comments(user_id: int) -> Iterator[list[Row]]:
    """Comments the user wrote, oldest first (`ix_comments_user`), on workouts they may see."""
    query = (
        sa.select(Comment.id, Comment.workout_id, Comment.body, Comment.created_at)
        .join(Workout, Workout.id == Comment.workout_id)
        .where(Comment.user_id == user_id, seen_by(user_id))
    )
    return _pages_by_id(query, Comment.id)


SECTIONS = {
    "workouts": _workouts,
    "tracks": _tracks,
    "goals": _goals,
    "achievements": _achievements,
    "notifications": _notifications,
    "following": _following,
    "followers": _followers,
    "kudos_given": _kudos,
    "comments_written": _comments,
}


def stream(user_id: int, exported_at: datetime) -> Iterator[str]:
    """The export document in pieces of at most one page each."""
    user = db.session.get(User, user_id)
    head = {"format": FORMAT, "version": VERSION, "exported_at": _value(exported_at)}
    yield json.dumps(head)[:-1] + ', "profile": ' + json.dumps(profile(user))
    for name, pages in SECTIONS.items():
        yield f', "{name}": ['
        separator = ""
        for page in pages(user_id):
            db.session.rollback()
            yield separator + ", ".join(json.dumps(row) for row in page)
            separator = ", "
            socketio.sleep(0)
        yield "]"
    yield "}\n"
