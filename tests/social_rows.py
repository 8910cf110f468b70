"""Follows and blocks written straight into their tables, for tests that need many quickly.

The services keep `users.followers_count`, `following_count` and
`follow_requests_count` in the transaction that moves them, and the completion
flow trusts `followers_count` to decide whether a `feed_item` fan-out can
reach anyone. Rows written around the services get their counters here, set
from the rows the way the migration that added them filled them.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from fitness_app.extensions import db

_RECOUNT = sa.text(
    "UPDATE users SET"
    " followers_count = (SELECT COUNT(*) FROM follows"
    "   WHERE follows.followee_id = users.id AND follows.accepted),"
    " following_count = (SELECT COUNT(*) FROM follows"
    "   WHERE follows.follower_id = users.id AND follows.accepted),"
    " follow_requests_count = (SELECT COUNT(*) FROM follows"
    "   WHERE follows.followee_id = users.id AND NOT follows.accepted)"
)


def add_social_rows(app: Flask, *rows: object) -> None:
    """Store the rows (follows, blocks, anything else) and set the follow counters from them."""
    with app.app_context():
        db.session.add_all(rows)
        db.session.flush()
        recount_follows(db.session.connection())
        db.session.commit()


def recount_follows(conn: sa.Connection) -> None:
    """Set every user's follow counters from the rows, in the caller's transaction."""
    conn.execute(_RECOUNT)
