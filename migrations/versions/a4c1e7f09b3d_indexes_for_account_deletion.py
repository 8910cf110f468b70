"""indexes for account deletion: notifications.author_id, announcement_reads.user_id

Deleting a user sets their announcements' author to NULL and removes their read
marks; without these indexes each deletion scanned both tables.

Revision ID: a4c1e7f09b3d
Revises: 19d12c793e7d
Create Date: 2026-11-26 15:15:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a4c1e7f09b3d'
down_revision = '19d12c793e7d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(op.f('ix_notifications_author_id'), 'notifications', ['author_id'], unique=False)
    op.create_index(op.f('ix_announcement_reads_user_id'), 'announcement_reads', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_announcement_reads_user_id'), table_name='announcement_reads')
    op.drop_index(op.f('ix_notifications_author_id'), table_name='notifications')
