"""push_devices: Web Push subscriptions, each belonging to a login session

Revision ID: e8b4c2d6f1a7
Revises: e3b8c4d1f6a7
Create Date: 2026-12-04 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e8b4c2d6f1a7'
down_revision = 'e3b8c4d1f6a7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'push_devices',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('login_id', sa.Integer(), nullable=False),
        sa.Column('endpoint', sa.String(length=2048), nullable=False),
        sa.Column('p256dh', sa.String(length=128), nullable=False),
        sa.Column('auth', sa.String(length=64), nullable=False),
        sa.Column('browser', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['login_id'], ['logins.id'],
                                name=op.f('fk_push_devices_login_id_logins'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_push_devices_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_push_devices')),
        sa.UniqueConstraint('endpoint', name=op.f('uq_push_devices_endpoint')),
    )
    with op.batch_alter_table('push_devices') as batch_op:
        batch_op.create_index(batch_op.f('ix_push_devices_login_id'), ['login_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_push_devices_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('push_devices') as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_devices_user_id'))
        batch_op.drop_index(batch_op.f('ix_push_devices_login_id'))
    op.drop_table('push_devices')
