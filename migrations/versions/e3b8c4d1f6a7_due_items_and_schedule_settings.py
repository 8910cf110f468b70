"""due_items, the scheduler's rows; workouts.start_time; the reminder, nudge, summary and digest settings

Existing users get reminders 30 minutes ahead (the form's default) and no
nudge, summary or digest until they choose a time.

Revision ID: e3b8c4d1f6a7
Revises: 70c9c5112b4c
Create Date: 2026-12-04 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e3b8c4d1f6a7'
down_revision = '70c9c5112b4c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('reminder_minutes', sa.Integer(), server_default='30', nullable=True))
        batch_op.add_column(sa.Column('nudge_time', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('summary_day', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('summary_time', sa.Time(), nullable=True))
        batch_op.add_column(sa.Column('digest_time', sa.Time(), nullable=True))
    with op.batch_alter_table('workouts') as batch_op:
        batch_op.add_column(sa.Column('start_time', sa.Time(), nullable=True))
    op.create_table(
        'due_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('workout_id', sa.Integer(), nullable=True),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_due_items_user_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['workout_id'], ['workouts.id'], name=op.f('fk_due_items_workout_id_workouts'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_due_items')),
        sa.UniqueConstraint('workout_id', name=op.f('uq_due_items_workout_id')),
    )
    op.create_index('ix_due_items_due_at', 'due_items', ['due_at'], unique=False)
    op.create_index('ix_due_items_user_id', 'due_items', ['user_id'], unique=False)
    op.create_index('uq_due_items_user_kind', 'due_items', ['user_id', 'kind'], unique=True,
                    postgresql_where=sa.text('workout_id IS NULL'),
                    sqlite_where=sa.text('workout_id IS NULL'))


def downgrade():
    op.drop_index('uq_due_items_user_kind', table_name='due_items',
                  postgresql_where=sa.text('workout_id IS NULL'),
                  sqlite_where=sa.text('workout_id IS NULL'))
    op.drop_index('ix_due_items_user_id', table_name='due_items')
    op.drop_index('ix_due_items_due_at', table_name='due_items')
    op.drop_table('due_items')
    with op.batch_alter_table('workouts') as batch_op:
        batch_op.drop_column('start_time')
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('digest_time')
        batch_op.drop_column('summary_time')
        batch_op.drop_column('summary_day')
        batch_op.drop_column('nudge_time')
        batch_op.drop_column('reminder_minutes')
