"""notifications.group_key: the notifications one action stores share a group

NULL marks the first notification of its group, whose key is its own id, so
every existing row keeps a group of its own and nothing is rewritten.

Revision ID: e4b8d2f6a1c3
Revises: e3b8f4a61c27
Create Date: 2026-12-04 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e4b8d2f6a1c3'
down_revision = 'e3b8f4a61c27'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('notifications', sa.Column('group_key', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('notifications') as batch_op:
        batch_op.drop_column('group_key')
