"""Following with approval: ask, accept, decline, unfollow or withdraw; each one transaction.

Every change moves the counters on `users` (`followers_count`,
`following_count`, `follow_requests_count`) in the transaction that changes
the follow, so no page counts rows. Each step decides by the row it changed
(an INSERT that did or did not conflict, an UPDATE or DELETE that did or did
not hit a row), never by a read before the write: two racing requests move a
counter once and notify once.

Both users are locked first (`sql.lock_users`, ascending ids), the same locks
`notify` takes: two people acting on each other at once wait in one order
instead of deadlocking on their `users` rows.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import Follow, User
from fitness_app.services.notifications import store
from fitness_app.services.notifications.delivery import delivery
from fitness_app.services.social.visibility import blocked_either_way
from fitness_app.services.sql import insert_ignoring_duplicates, lock_users


class Asked(enum.Enum):
    REQUESTED = "requested"
    ALREADY = "already"  # asked or following before: nothing changed, nobody told
    BLOCKED = "blocked"  # a block either way: the route answers as for a missing user


def move_counts(user_id: int, **deltas: int) -> None:
    """Add `deltas` to the user's follow counters in one UPDATE, in the caller's transaction."""
    users = User.__table__
    db.session.execute(
        sa.update(users)
        .where(users.c.id == user_id)
        .values({users.c[name]: users.c[name] + delta for name, delta in deltas.items()})
    )


def drop_follows(follows: Iterable[tuple[int, int, bool]]) -> None:
    """Move the counters for follows just deleted, as (follower, followee, accepted) rows."""
    for follower_id, followee_id, accepted in follows:
        if accepted:
            move_counts(follower_id, following_count=-1)
            move_counts(followee_id, followers_count=-1)
        else:
            move_counts(followee_id, follow_requests_count=-1)


def ask(asker: User, followee_id: int) -> Asked:
    """Ask to follow; the followee gets a `follow_request` notification, once."""
    with delivery() as unit:
        lock_users((asker.id, followee_id))
        if db.session.scalar(sa.select(blocked_either_way(asker.id, followee_id))):
            unit.abandon()
            return Asked.BLOCKED
        stored = insert_ignoring_duplicates(
            Follow, {"follower_id": asker.id, "followee_id": followee_id, "accepted": False}
        )
        if not stored:
            unit.abandon()
            return Asked.ALREADY
        move_counts(followee_id, follow_requests_count=1)
        store.notify(
            followee_id, "follow_request", "Follow request",
            f"{asker.username} asks to follow you.", {"username": asker.username},
        )
    return Asked.REQUESTED


def accept(followee: User, asker_id: int) -> bool:
    """Accept a waiting request; the asker gets `follow_accepted`. False: no such request."""
    with delivery() as unit:
        lock_users((followee.id, asker_id))
        changed = db.session.execute(
            sa.update(Follow)
            .where(Follow.follower_id == asker_id, Follow.followee_id == followee.id,
                   Follow.accepted == sa.false())
            .values(accepted=True)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            unit.abandon()
            return False
        move_counts(followee.id, followers_count=1, follow_requests_count=-1)
        move_counts(asker_id, following_count=1)
        store.notify(
            asker_id, "follow_accepted", "Follow accepted",
            f"{followee.username} accepted your follow request.",
            {"username": followee.username},
        )
    return True


def decline(followee: User, asker_id: int) -> bool:
    """Remove a waiting request without telling the asker. False: no such request."""
    with delivery() as unit:
        lock_users((followee.id, asker_id))
        removed = _delete(
            sa.and_(Follow.follower_id == asker_id, Follow.followee_id == followee.id,
                    Follow.accepted == sa.false())
        )
        if not removed:
            unit.abandon()
            return False
        drop_follows(removed)
    return True


def unfollow(follower: User, followee_id: int) -> bool:
    """Stop following, or withdraw a request not yet answered. False: there was neither."""
    with delivery() as unit:
        lock_users((follower.id, followee_id))
        removed = _delete(
            sa.and_(Follow.follower_id == follower.id, Follow.followee_id == followee_id)
        )
        if not removed:
            unit.abandon()
            return False
        drop_follows(removed)
    return True


def delete_between(a: int, b: int) -> None:
    """Remove any follow between `a` and `b`, both ways, counters included (for a block)."""
    drop_follows(_delete(sa.or_(
        sa.and_(Follow.follower_id == a, Follow.followee_id == b),
        sa.and_(Follow.follower_id == b, Follow.followee_id == a),
    )))


def _delete(condition: sa.ColumnElement[bool]) -> list[tuple[int, int, bool]]:
    """DELETE the follows matching `condition`; the rows it really removed."""
    rows = db.session.execute(
        sa.delete(Follow)
        .where(condition)
        .returning(Follow.follower_id, Follow.followee_id, Follow.accepted)
        .execution_options(synchronize_session=False)
    ).all()
    return [tuple(row) for row in rows]


def forget_user(user_id: int) -> None:
    """Before a user is deleted: take their follows out of the other side's counters.

    Three UPDATEs whatever the number of follows; the rows themselves go with
    the user (ON DELETE CASCADE). In the caller's transaction.
    """
    users = User.__table__
    for column, side, other, accepted in (
        ("followers_count", Follow.follower_id, Follow.followee_id, True),
        ("following_count", Follow.followee_id, Follow.follower_id, True),
        ("follow_requests_count", Follow.follower_id, Follow.followee_id, False),
    ):
        touched = sa.select(other).where(side == user_id, Follow.accepted == accepted)
        db.session.execute(
            sa.update(users)
            .where(users.c.id.in_(touched))
            .values({users.c[column]: users.c[column] - 1})
        )
