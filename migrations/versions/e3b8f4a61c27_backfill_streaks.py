"""backfill streak rows from the completed workouts of users who have none

The upgrade that created `streaks` (19d12c793e7d) left each user's row to
their next completion, so until then the dashboard read a streak of 0. This
fills the row of every user who has completed workouts and no row yet, as
`services/training/streaks.rebuild` derives it: the latest run of
consecutive days with a completed workout, its milestones counted as
announced (nobody is told today about a day long past). Rows the app already
keeps are left alone.

A database that has lived ten years is read in bounded steps: users in id
order, BATCH at a time; per batch one query for their latest days, then one
query per CHUNK days of the runs still going back, through the
(user_id, performed_on) index. Nothing is notified.

Revision ID: e3b8f4a61c27
Revises: d7e1f3a5b9c2
Create Date: 2026-12-04 12:30:00

"""
from datetime import timedelta

from alembic import op
import sqlalchemy as sa


revision = 'e3b8f4a61c27'
down_revision = 'd7e1f3a5b9c2'
branch_labels = None
depends_on = None

# Frozen copies, as of this revision, of what services/training/streaks.py uses.
MILESTONES = (3, 7, 14, 30, 50, 100, 200, 365)
BATCH = 200
CHUNK = 64
DAY = timedelta(days=1)

users = sa.table('users', sa.column('id', sa.Integer))
workouts = sa.table(
    'workouts',
    sa.column('user_id', sa.Integer),
    sa.column('performed_on', sa.Date),
    sa.column('completed_at', sa.DateTime(timezone=True)),
)
streaks = sa.table(
    'streaks',
    sa.column('user_id', sa.Integer),
    sa.column('since', sa.Date),
    sa.column('last_day', sa.Date),
    sa.column('notified', sa.Integer),
)


def upgrade():
    conn = op.get_bind()
    after = 0
    while True:
        ids = conn.scalars(
            sa.select(users.c.id).where(users.c.id > after).order_by(users.c.id).limit(BATCH)
        ).all()
        if not ids:
            return
        after = ids[-1]
        rows = _rows(conn, _latest_days(conn, ids))
        if rows:
            conn.execute(streaks.insert(), rows)


def _latest_days(conn, ids):
    """{user id: latest day with a completed workout} for those of `ids` without a row."""
    latest = (
        sa.select(workouts.c.performed_on)
        .where(workouts.c.user_id == users.c.id, workouts.c.completed_at.is_not(None))
        .order_by(workouts.c.performed_on.desc())
        .limit(1)
        .scalar_subquery()
    )
    kept = sa.select(streaks.c.user_id).where(streaks.c.user_id == users.c.id).exists()
    found = conn.execute(
        sa.select(users.c.id, latest).where(users.c.id.in_(ids), ~kept)
    ).all()
    return {user_id: day for user_id, day in found if day is not None}


def _rows(conn, last_days):
    """Each run walked back from its last day, CHUNK days per query for all runs at once."""
    since = dict(last_days)
    going = set(since)
    while going:
        window = sa.or_(*(
            sa.and_(
                workouts.c.user_id == user_id,
                workouts.c.performed_on < since[user_id],
                workouts.c.performed_on >= since[user_id] - CHUNK * DAY,
            )
            for user_id in going
        ))
        days = {}
        for user_id, day in conn.execute(
            sa.select(workouts.c.user_id, workouts.c.performed_on)
            .where(window, workouts.c.completed_at.is_not(None))
            .distinct()
        ):
            days.setdefault(user_id, set()).add(day)
        for user_id in list(going):
            start, found = since[user_id], days.get(user_id, set())
            while start - DAY in found:
                start -= DAY
            if since[user_id] - start < CHUNK * DAY:
                going.discard(user_id)
            since[user_id] = start
    return [
        {'user_id': user_id, 'since': since[user_id], 'last_day': last,
         'notified': _milestones_reached((last - since[user_id]).days + 1)}
        for user_id, last in last_days.items()
    ]


def _milestones_reached(days):
    return max((m for m in MILESTONES if m <= days), default=0)


def downgrade():
    # The rows are what the app would have written at the next completion; they stay.
    pass
