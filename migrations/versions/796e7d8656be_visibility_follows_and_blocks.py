"""who sees what: workouts.visibility, users.default_visibility, follows and blocks

Existing workouts and users get `followers`, the product's default: what was
private to its owner until now becomes visible only to followers, and nobody
follows anybody yet, so nothing already logged is shown to anyone new.

Revision ID: 796e7d8656be
Revises: e4b8d2f6a1c3
Create Date: 2026-12-04 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '796e7d8656be'
down_revision = 'e4b8d2f6a1c3'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column(
        'default_visibility', sa.String(length=16), server_default='followers', nullable=False))
    op.add_column('workouts', sa.Column(
        'visibility', sa.String(length=16), server_default='followers', nullable=False))
    op.create_index(
        'ix_workouts_shared', 'workouts', ['user_id', 'visibility', 'performed_on', 'id'],
        unique=False,
        postgresql_where=sa.text('completed_at IS NOT NULL'),
        sqlite_where=sa.text('completed_at IS NOT NULL'),
    )
    op.create_table(
        'follows',
        sa.Column('follower_id', sa.Integer(), nullable=False),
        sa.Column('followee_id', sa.Integer(), nullable=False),
        sa.Column('accepted', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['followee_id'], ['users.id'],
                                name=op.f('fk_follows_followee_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['follower_id'], ['users.id'],
                                name=op.f('fk_follows_follower_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('follower_id', 'followee_id', name=op.f('pk_follows')),
    )
    op.create_index('ix_follows_followee', 'follows',
                    ['followee_id', 'accepted', 'follower_id'], unique=False)
    op.create_table(
        'blocks',
        sa.Column('blocker_id', sa.Integer(), nullable=False),
        sa.Column('blocked_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['blocked_id'], ['users.id'],
                                name=op.f('fk_blocks_blocked_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['blocker_id'], ['users.id'],
                                name=op.f('fk_blocks_blocker_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('blocker_id', 'blocked_id', name=op.f('pk_blocks')),
    )
    op.create_index(op.f('ix_blocks_blocked_id'), 'blocks', ['blocked_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_blocks_blocked_id'), table_name='blocks')
    op.drop_table('blocks')
    op.drop_index('ix_follows_followee', table_name='follows')
    op.drop_table('follows')
    op.drop_index('ix_workouts_shared', table_name='workouts')
    with op.batch_alter_table('workouts') as batch_op:
        batch_op.drop_column('visibility')
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('default_visibility')
