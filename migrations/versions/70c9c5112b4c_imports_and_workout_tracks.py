"""imports, import_entries and workout_tracks: workout files read in the background

An import and the outcome of each of its files; a workout's start time, climb
and simplified route when it came from a file.

Revision ID: 70c9c5112b4c
Revises: e3a8b6c1d2f4
Create Date: 2026-12-03 12:34:09.766117

"""
from alembic import op
import sqlalchemy as sa


revision = '70c9c5112b4c'
down_revision = 'e3a8b6c1d2f4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('upload_path', sa.String(length=500), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_imports_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imports'))
    )
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imports_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_imports_user_id'), ['user_id'], unique=False)

    op.create_table('import_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('outcome', sa.String(length=8), nullable=False),
    sa.Column('message', sa.String(length=300), nullable=True),
    sa.Column('workout_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_import_entries_import_id_imports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workout_id'], ['workouts.id'], name=op.f('fk_import_entries_workout_id_workouts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_entries')),
    sa.UniqueConstraint('import_id', 'position', name=op.f('uq_import_entries_import_id_position'))
    )
    with op.batch_alter_table('import_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_entries_workout_id'), ['workout_id'], unique=False)

    op.create_table('workout_tracks',
    sa.Column('workout_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_seconds', sa.Float(), nullable=False),
    sa.Column('elevation_gain_m', sa.Float(), nullable=True),
    sa.Column('route', sa.Text(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_workout_tracks_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workout_id'], ['workouts.id'], name=op.f('fk_workout_tracks_workout_id_workouts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workout_id', name=op.f('pk_workout_tracks'))
    )
    with op.batch_alter_table('workout_tracks', schema=None) as batch_op:
        batch_op.create_index('ix_workout_tracks_user_start', ['user_id', 'started_at'], unique=False)



def downgrade():
    with op.batch_alter_table('workout_tracks', schema=None) as batch_op:
        batch_op.drop_index('ix_workout_tracks_user_start')

    op.drop_table('workout_tracks')
    with op.batch_alter_table('import_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_entries_workout_id'))

    op.drop_table('import_entries')
    with op.batch_alter_table('imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imports_user_id'))
        batch_op.drop_index(batch_op.f('ix_imports_status'))

    op.drop_table('imports')
