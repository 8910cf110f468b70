"""follow counters: users.followers_count, following_count, follow_requests_count

Kept by services/social/follows.py in the same transaction as the follow
they count; filled here from the follows already stored.

Revision ID: f1c7a9d3b5e2
Revises: e8b4c2d6f1a7
Create Date: 2026-12-03 16:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f1c7a9d3b5e2'
down_revision = 'e8b4c2d6f1a7'
branch_labels = None
depends_on = None

COUNTERS = ('followers_count', 'following_count', 'follow_requests_count')


def upgrade():
    for name in COUNTERS:
        op.add_column('users', sa.Column(name, sa.Integer(), server_default='0', nullable=False))
    op.execute(
        "UPDATE users SET"
        " followers_count = (SELECT COUNT(*) FROM follows"
        "   WHERE follows.followee_id = users.id AND follows.accepted),"
        " following_count = (SELECT COUNT(*) FROM follows"
        "   WHERE follows.follower_id = users.id AND follows.accepted),"
        " follow_requests_count = (SELECT COUNT(*) FROM follows"
        "   WHERE follows.followee_id = users.id AND NOT follows.accepted)"
    )


def downgrade():
    with op.batch_alter_table('users') as batch_op:
        for name in reversed(COUNTERS):
            batch_op.drop_column(name)
