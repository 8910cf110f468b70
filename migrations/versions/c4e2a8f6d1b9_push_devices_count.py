"""push device counter: users.push_devices_count

Kept by services/push/devices.py in the transaction that adds or removes a
user's devices, so a delivery learns from the counter UPDATE it runs anyway
whether there is any device to push to; filled here from the devices stored.

Revision ID: c4e2a8f6d1b9
Revises: b7d3f9a2c4e6
Create Date: 2026-12-04 16:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c4e2a8f6d1b9'
down_revision = 'b7d3f9a2c4e6'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('push_devices_count', sa.Integer(), server_default='0',
                                     nullable=False))
    op.execute(
        "UPDATE users SET push_devices_count ="
        " (SELECT COUNT(*) FROM push_devices WHERE push_devices.user_id = users.id)"
    )


def downgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('push_devices_count')
