"""users.goal_count: how many goals each user has, so a completion without goals reads none

Filled from the goals table for every existing user.

Revision ID: d7e1f3a5b9c2
Revises: c5d2e8f1a9b0
Create Date: 2026-11-26 18:25:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd7e1f3a5b9c2'
down_revision = 'c5d2e8f1a9b0'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('goal_count', sa.Integer(), server_default='0', nullable=False))
    op.execute(
        "UPDATE users SET goal_count ="
        " (SELECT count(*) FROM goals WHERE goals.user_id = users.id)"
    )


def downgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('goal_count')
