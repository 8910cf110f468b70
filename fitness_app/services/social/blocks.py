"""Blocking: neither user sees, follows, gives kudos to or comments on the other.

A block removes any follow between the two, both ways, with its counters, in
its own transaction; what stays hidden afterwards is the visibility rule's
business (`visibility.blocked_either_way`), not this module's.
"""

from __future__ import annotations

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import Block, User
from fitness_app.services.notifications.delivery import delivery
from fitness_app.services.social import follows
from fitness_app.services.sql import insert_ignoring_duplicates, lock_users


def block(blocker: User, blocked_id: int) -> bool:
    """Block, removing follows both ways. False: already blocked (nothing changed)."""
    with delivery() as unit:
        lock_users((blocker.id, blocked_id))
        if not insert_ignoring_duplicates(
            Block, {"blocker_id": blocker.id, "blocked_id": blocked_id}
        ):
            unit.abandon()
            return False
        follows.delete_between(blocker.id, blocked_id)
    return True


def unblock(blocker: User, blocked_id: int) -> bool:
    """Lift one's own block. Follows removed by it stay removed. False: there was none."""
    with delivery() as unit:
        removed = db.session.execute(
            sa.delete(Block)
            .where(Block.blocker_id == blocker.id, Block.blocked_id == blocked_id)
            .returning(Block.blocked_id)
            .execution_options(synchronize_session=False)
        ).first()
        if removed is None:
            unit.abandon()
            return False
    return True
