"""kudos, comments and comment reports; the workouts' kudos and comment counters

Every existing workout starts at zero of each: there were no kudos or
comments before this revision.

Revision ID: b7d3f9a2c4e6
Revises: f3a9c1d7b5e2
Create Date: 2026-12-03 16:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b7d3f9a2c4e6'
down_revision = 'f3a9c1d7b5e2'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('workouts', sa.Column('kudos_count', sa.Integer(), server_default='0',
                                        nullable=False))
    op.add_column('workouts', sa.Column('comments_count', sa.Integer(), server_default='0',
                                        nullable=False))
    op.create_table(
        'kudos',
        sa.Column('workout_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_kudos_user_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['workout_id'], ['workouts.id'],
                                name=op.f('fk_kudos_workout_id_workouts'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('workout_id', 'user_id', name=op.f('pk_kudos')),
    )
    op.create_index('ix_kudos_workout_latest', 'kudos', ['workout_id', 'created_at'],
                    unique=False)
    op.create_index('ix_kudos_user', 'kudos', ['user_id', 'workout_id'], unique=False)
    op.create_table(
        'comments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('workout_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('body', sa.String(length=1000), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_comments_user_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['workout_id'], ['workouts.id'],
                                name=op.f('fk_comments_workout_id_workouts'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_comments')),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_comments_workout', 'comments', ['workout_id', 'id'], unique=False)
    op.create_index('ix_comments_workout_user', 'comments', ['workout_id', 'user_id'],
                    unique=False)
    op.create_index('ix_comments_user', 'comments', ['user_id', 'id'], unique=False)
    op.create_table(
        'comment_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('comment_id', sa.Integer(), nullable=False),
        sa.Column('reporter_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['comment_id'], ['comments.id'],
                                name=op.f('fk_comment_reports_comment_id_comments'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['reporter_id'], ['users.id'],
                                name=op.f('fk_comment_reports_reporter_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_comment_reports')),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f('ix_comment_reports_reporter_id'), 'comment_reports',
                    ['reporter_id'], unique=False)
    op.create_index('uq_comment_reports_open', 'comment_reports',
                    ['comment_id', 'reporter_id'], unique=True,
                    postgresql_where=sa.text('resolved_at IS NULL'),
                    sqlite_where=sa.text('resolved_at IS NULL'))
    op.create_index('ix_comment_reports_open', 'comment_reports', ['id'], unique=False,
                    postgresql_where=sa.text('resolved_at IS NULL'),
                    sqlite_where=sa.text('resolved_at IS NULL'))


def downgrade():
    op.drop_index('ix_comment_reports_open', table_name='comment_reports')
    op.drop_index('uq_comment_reports_open', table_name='comment_reports')
    op.drop_index(op.f('ix_comment_reports_reporter_id'), table_name='comment_reports')
    op.drop_table('comment_reports')
    op.drop_index('ix_comments_user', table_name='comments')
    op.drop_index('ix_comments_workout_user', table_name='comments')
    op.drop_index('ix_comments_workout', table_name='comments')
    op.drop_table('comments')
    op.drop_index('ix_kudos_user', table_name='kudos')
    op.drop_index('ix_kudos_workout_latest', table_name='kudos')
    op.drop_table('kudos')
    with op.batch_alter_table('workouts') as batch_op:
        batch_op.drop_column('comments_count')
        batch_op.drop_column('kudos_count')
