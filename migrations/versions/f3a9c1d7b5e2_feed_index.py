"""feed index: each owner's completed workouts per visibility, in id order

Revision ID: f3a9c1d7b5e2
Revises: f1c7a3e9d2b5
Create Date: 2026-12-03 16:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f3a9c1d7b5e2'
down_revision = 'f1c7a3e9d2b5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_workouts_feed', 'workouts', ['user_id', 'visibility', 'id'],
        unique=False,
        postgresql_where=sa.text('completed_at IS NOT NULL'),
        sqlite_where=sa.text('completed_at IS NOT NULL'),
    )


def downgrade():
    op.drop_index('ix_workouts_feed', table_name='workouts')
