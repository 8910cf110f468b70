"""The one rule of who sees what, as SQL every read goes through.

- A workout whose `visibility` is `private` is seen by its owner only;
  `followers`, also by the users whose follow of the owner was accepted;
  `public`, by every signed-in user.
- Blocking hides everything both ways, whoever blocked whom.
- Nobody signed out sees anything here.

Someone who may not see a thing gets 404, exactly as if it did not exist:
`get_visible_workout_or_404` answers both cases the same way. Pages, the
feed, JSON answers, socket events and the export build their queries from
`seen_by` (or `visible_workouts`), never from a rule of their own; admins are
not exempt.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from fitness_app.extensions import db
from fitness_app.models import Block, Follow, Workout

#: Each level, with the label the workout form and /settings/ show.
LEVELS = (("private", "Only me"), ("followers", "Followers"), ("public", "Everyone"))
#: What an accepted follower sees of the people they follow.
SHARED_WITH_FOLLOWERS = ("followers", "public")


def viewer_id(viewer: Any = None) -> int | None:
    """The signed-in user's id (or `viewer`'s), None when nobody is signed in."""
    viewer = current_user if viewer is None else viewer
    if isinstance(viewer, int):
        return viewer
    return viewer.id if getattr(viewer, "is_authenticated", False) else None


def blocked_either_way(a: Any, b: Any) -> sa.ColumnElement[bool]:
    """SQL: a block exists between `a` and `b` (ids or columns), whoever blocked whom.

    Two primary-key probes: (blocker, blocked) and its reverse.
    """
    return sa.or_(
        sa.exists().where(Block.blocker_id == a, Block.blocked_id == b),
        sa.exists().where(Block.blocker_id == b, Block.blocked_id == a),
    )


def follows(follower: Any, followee: Any) -> sa.ColumnElement[bool]:
    """SQL: `follower` follows `followee`, accepted (one primary-key probe)."""
    return sa.exists().where(
        Follow.follower_id == follower, Follow.followee_id == followee, Follow.accepted
    )


def seen_by(viewer: Any = None) -> sa.ColumnElement[bool]:
    """SQL over `Workout`: the workouts `viewer` (default: the signed-in user) may see."""
    me = viewer_id(viewer)
    if me is None:
        return sa.false()
    return seen_by_each(me)


def seen_by_each(me: Any) -> sa.ColumnElement[bool]:
    """SQL over `Workout`: the same rule, with the viewer an id or a column of another table.

    A column asks it of many people at once, for a fan-out: "which of these
    commenters may still see this workout" is one query per batch, not one
    per person.
    """
    return sa.or_(
        Workout.user_id == me,
        sa.and_(
            ~blocked_either_way(me, Workout.user_id),
            sa.or_(
                Workout.visibility == "public",
                sa.and_(Workout.visibility == "followers", follows(me, Workout.user_id)),
            ),
        ),
    )


def visible_workouts(viewer: Any = None) -> sa.Select[tuple[Workout]]:
    """`SELECT workouts` limited to what `viewer` may see; add filters and order to it."""
    return sa.select(Workout).where(seen_by(viewer))


def get_visible_workout_or_404(workout_id: int, viewer: Any = None) -> Workout:
    """The workout if `viewer` may see it; otherwise 404, as for one that does not exist."""
    workout = db.session.scalar(visible_workouts(viewer).where(Workout.id == workout_id))
    if workout is None:
        abort(404)
    return workout


def levels_for(viewer: Any, owner_id: int) -> Collection[str]:
    """The visibilities of `owner_id`'s workouts that `viewer` may see; empty for none.

    The same rule as `seen_by`, answered once per (viewer, owner) pair, for
    pages that list one owner's workouts through `ix_workouts_shared`, one
    index range per level.
    """
    me = viewer_id(viewer)
    if me is None:
        return ()
    if me == owner_id:
        return tuple(level for level, _ in LEVELS)
    relation = db.session.execute(
        sa.select(blocked_either_way(me, owner_id), follows(me, owner_id))
    ).one()
    if relation[0]:
        return ()
    return SHARED_WITH_FOLLOWERS if relation[1] else ("public",)
