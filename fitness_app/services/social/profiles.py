"""What a profile and the requests page read: a person, how the viewer stands with
them, their workouts the viewer may see, the requests waiting for an answer.

Every read is bounded: the relation is primary-key probes, and the lists are
keyset pages through an index (`ix_workouts_shared` for workouts,
`ix_follows_followee` for requests), whatever the history behind them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import Block, Follow, User, Workout
from fitness_app.services.social.visibility import levels_for

PAGE_SIZE = 20
#: What registration accepts (auth/forms.py): anything else names nobody.
USERNAME = re.compile(r"[A-Za-z0-9_.-]{1,32}")


@dataclass(frozen=True)
class Relation:
    """How the viewer stands with another user.

    `following` is None (neither following nor asked), "pending" or "accepted".
    """

    following: str | None
    blocked_them: bool
    blocked_me: bool


@dataclass(frozen=True)
class Page:
    """One page of a keyset list; `before` is the cursor of the next, None on the last."""

    items: list
    before: int | None


def user_named(username: str) -> User | None:
    """The user with exactly this username (the unique index), or None.

    A name that registration could never have accepted is None without a
    query: a NUL, for one, makes PostgreSQL raise instead of finding nothing.
    """
    if not USERNAME.fullmatch(username):
        return None
    return db.session.scalar(sa.select(User).where(User.username == username))


def relation(viewer_id: int, other_id: int) -> Relation:
    """One query of three primary-key probes."""
    follow = (
        sa.select(Follow.accepted)
        .where(Follow.follower_id == viewer_id, Follow.followee_id == other_id)
        .scalar_subquery()
    )
    row = db.session.execute(sa.select(
        follow,
        sa.exists().where(Block.blocker_id == viewer_id, Block.blocked_id == other_id),
        sa.exists().where(Block.blocker_id == other_id, Block.blocked_id == viewer_id),
    )).one()
    following = None if row[0] is None else ("accepted" if row[0] else "pending")
    return Relation(following, bool(row[1]), bool(row[2]))


def visible_workouts(viewer_id: int, owner_id: int, before: int | None = None,
                     size: int = PAGE_SIZE) -> Page:
    """The owner's completed workouts the viewer may see, newest first, `size` a page.

    One index range of `ix_workouts_shared` per visibility the viewer may see
    (`levels_for`, the one rule), each at most `size + 1` rows, merged here:
    a page costs the same with ten years of workouts as with ten. `before`
    is the id of the last workout of the previous page.
    """
    levels = levels_for(viewer_id, owner_id)
    if not levels:
        return Page([], None)
    cursor = None
    if before is not None:
        # Only a workout the viewer may see places the cursor: another id says
        # nothing about the owner's hidden workouts.
        day = db.session.scalar(
            sa.select(Workout.performed_on).where(
                Workout.id == before, Workout.user_id == owner_id,
                Workout.completed_at.is_not(None), Workout.visibility.in_(levels))
        )
        if day is None:
            return Page([], None)
        cursor = (day, before)
    found: list[Workout] = []
    for level in levels:
        found.extend(db.session.scalars(level_range(owner_id, level, cursor, size + 1)))
    found.sort(key=lambda w: (w.performed_on, w.id), reverse=True)
    return Page(found[:size], found[size - 1].id if len(found) > size else None)


def level_range(owner_id: int, level: str, cursor: tuple[date, int] | None,
                limit: int) -> sa.Select[tuple[Workout]]:
    """One range of `ix_workouts_shared`: the owner's completed workouts of one
    visibility, newest first, below `cursor` (performed_on, id) when given."""
    query = sa.select(Workout).where(
        Workout.user_id == owner_id, Workout.visibility == level,
        Workout.completed_at.is_not(None),
    )
    if cursor is not None:
        query = query.where(sa.tuple_(Workout.performed_on, Workout.id) < cursor)
    return query.order_by(Workout.performed_on.desc(), Workout.id.desc()).limit(limit)


def waiting_requests(user_id: int, before: int | None = None, size: int = PAGE_SIZE) -> Page:
    """The users waiting for `user_id`'s answer, as (id, username), newest account first.

    By asker id, the last column of `ix_follows_followee`, so each page is one
    index range; `before` is the last asker id of the previous page.
    """
    rows = db.session.execute(requests_range(user_id, before, size + 1)).all()
    items = [tuple(row) for row in rows[:size]]
    return Page(items, items[-1][0] if len(rows) > size else None)


def requests_range(user_id: int, before: int | None, limit: int) -> sa.Select[tuple[int, str]]:
    """One range of `ix_follows_followee`: the askers waiting for `user_id`, by id, descending."""
    query = (
        sa.select(User.id, User.username)
        .join(Follow, Follow.follower_id == User.id)
        .where(Follow.followee_id == user_id, Follow.accepted == sa.false())
    )
    if before is not None:
        query = query.where(Follow.follower_id < before)
    return query.order_by(Follow.follower_id.desc()).limit(limit)
