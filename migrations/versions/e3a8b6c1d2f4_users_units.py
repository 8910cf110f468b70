"""users.units: metric or imperial, what distances read in (they stay stored in km)

Revision ID: e3a8b6c1d2f4
Revises: 796e7d8656be
Create Date: 2026-12-04 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e3a8b6c1d2f4'
down_revision = '796e7d8656be'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('units', sa.String(length=8), server_default='metric', nullable=False))


def downgrade():
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('units')
