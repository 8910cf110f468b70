"""The feed page: the newest visible workouts of the people a user follows.

Order and pages: by workout id, newest first, 20 a page; the next page is
`?before=<the last id shown>` (keyset), so a page costs the same on page 1
and on page 500, and a workout added meanwhile never shifts a page.

Cost: the followed people are read from the follows primary key (viewer,
followee). For each of them and each visibility a follower may see
(`visibility.SHARED_WITH_FOLLOWERS`), one range of `ix_workouts_feed`
(owner, visibility, id) gives at most a page of ids below `before`, whatever
the length of their histories. A first query takes the newest id of each
range and keeps the page-th newest of those as a floor (`floor_id`): the
page cannot reach below it, so the ranges are cut there and most of them
hold nothing. A follower of 1,000 people costs about 2 × 2 × 1,000 index
probes and a page of rows. Of those ids the newest page is kept, and only
those rows are read, through `visibility.seen_by`, the one rule, like every
other read.

PostgreSQL says "per followee, the newest n" with LATERAL. SQLite has no
LATERAL; a correlated `IN (… ORDER BY id DESC LIMIT n)` per followee is its
equivalent, run once per followee as a range of the same index (`_ranges`).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from fitness_app.extensions import db
from fitness_app.models import Follow, User, Workout
from fitness_app.services.social import visibility

PAGE_SIZE = 20


def followed_by(viewer_id: int) -> sa.Subquery:
    """The people `viewer_id` follows (accepted) with no block either way, as `owner_id`."""
    return (
        sa.select(Follow.followee_id.label("owner_id"))
        .where(
            Follow.follower_id == viewer_id,
            Follow.accepted,
            ~visibility.blocked_either_way(viewer_id, Follow.followee_id),
        )
        .subquery("followed")
    )


def _newest_ids(owner_id: sa.ColumnElement[int], level: str, below: int | None,
                limit: int, floor: int = 0) -> sa.Select[tuple[int]]:
    """One owner's newest completed workout ids of one visibility in [floor, below): one
    backward range of `ix_workouts_feed`."""
    query = (
        sa.select(Workout.id)
        .where(
            Workout.user_id == owner_id,
            Workout.visibility == level,
            Workout.completed_at.is_not(None),
            Workout.id >= floor,
        )
        .order_by(Workout.id.desc())
        .limit(limit)
    )
    return query if below is None else query.where(Workout.id < below)


def _ranges(viewer_id: int, before: int | None, limit: int,
            floor: int = 0) -> sa.Subquery:
    """Every (followed person, level) range's newest `limit` ids, as one column `id`.

    PostgreSQL joins each followed person to their range with LATERAL; SQLite,
    which has none, joins to `workouts` by a correlated `id IN (… LIMIT n)`,
    which its planner runs once per followed person as the same range.
    """
    followed = followed_by(viewer_id)
    parts = []
    for level in visibility.SHARED_WITH_FOLLOWERS:
        newest = _newest_ids(followed.c.owner_id, level, before, limit, floor)
        if db.session.get_bind().dialect.name == "postgresql":
            top = newest.lateral()
            parts.append(sa.select(top.c.id).select_from(followed).join(top, sa.true()))
        else:
            picked = so.aliased(Workout)
            parts.append(sa.select(picked.id).select_from(followed)
                         .join(picked, picked.id.in_(newest.correlate(followed))))
    return sa.union_all(*parts).subquery("ranges")


def floor_id(viewer_id: int, before: int | None, limit: int) -> int:
    """The lowest id the page can reach: the `limit`-th newest of the ranges' newest ids.

    Those newest ids are themselves candidates, so the page's `limit` newest
    are all at or above the `limit`-th of them; below it nothing needs
    reading. One index probe per (followed person, level), one row each.
    """
    newest = _ranges(viewer_id, before, 1)
    return db.session.scalar(
        sa.select(newest.c.id).order_by(newest.c.id.desc()).offset(limit - 1).limit(1)
    ) or 0


def candidate_ids(viewer_id: int, before: int | None, limit: int) -> sa.Select[tuple[int]]:
    """The newest `limit` ids among each followed person's newest `limit` per level,
    each range cut at `floor_id`."""
    ranges = _ranges(viewer_id, before, limit, floor_id(viewer_id, before, limit))
    return sa.select(ranges.c.id).order_by(ranges.c.id.desc()).limit(limit)


def page(viewer_id: int, before: int | None = None,
         size: int = PAGE_SIZE) -> tuple[list[tuple[Workout, str]], int | None]:
    """One page of the feed as (workout, owner's username), and the `before` of the next.

    The next is None on the last page. One row more than a page is read to
    know whether another page follows.
    """
    rows = db.session.execute(
        sa.select(Workout, User.username)
        .join(User, User.id == Workout.user_id)
        .where(
            Workout.id.in_(candidate_ids(viewer_id, before, size + 1)),
            visibility.seen_by(viewer_id),
        )
        .order_by(Workout.id.desc())
        .limit(size + 1)
    ).all()
    items = [(workout, username) for workout, username in rows[:size]]
    following_more = len(rows) > size
    return items, (items[-1][0].id if following_more else None)
