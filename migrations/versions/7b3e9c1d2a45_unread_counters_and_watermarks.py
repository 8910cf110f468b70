"""unread counters and read watermarks instead of counting history

Adds users.unread_count, users.read_through_id, users.announcements_after_id
and notifications.announcement_seq, and moves existing read state into them:
every user's watermark goes up to just below their oldest unread
notification, the announcement_reads rows at or below it are deleted (an old
"mark all read" wrote one per announcement), and the counter holds what is
left. Columns are added in place (no table copy), so SQLite keeps the
notifications table's AUTOINCREMENT.

Revision ID: 7b3e9c1d2a45
Revises: a4c1e7f09b3d
Create Date: 2026-11-26 14:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '7b3e9c1d2a45'
down_revision = 'a4c1e7f09b3d'
branch_labels = None
depends_on = None

WATERMARK = (
    "CASE WHEN users.read_through_id > users.announcements_after_id"
    " THEN users.read_through_id ELSE users.announcements_after_id END"
)


def upgrade():
    op.add_column('users', sa.Column('unread_count', sa.Integer(), server_default='0', nullable=False))
    op.add_column('users', sa.Column('read_through_id', sa.Integer(), server_default='0', nullable=False))
    op.add_column('users', sa.Column('announcements_after_id', sa.Integer(), server_default='0', nullable=False))
    op.add_column('notifications', sa.Column('announcement_seq', sa.Integer(), nullable=True))
    op.create_index('uq_notifications_announcement_seq', 'notifications', ['announcement_seq'], unique=True)

    op.execute(
        "UPDATE notifications SET announcement_seq = ranked.seq FROM"
        " (SELECT id, row_number() OVER (ORDER BY id) AS seq FROM notifications"
        "  WHERE user_id IS NULL) AS ranked"
        " WHERE notifications.id = ranked.id"
    )
    # Announcements were visible from the moment a user joined.
    op.execute(
        "UPDATE users SET announcements_after_id = coalesce("
        " (SELECT max(n.id) FROM notifications n"
        "  WHERE n.user_id IS NULL AND n.created_at < users.created_at), 0)"
    )
    # The watermark: just below the oldest unread notification, personal or announcement.
    op.execute(
        "UPDATE users SET read_through_id = coalesce("
        " (SELECT min(n.id) FROM notifications n"
        "  WHERE n.user_id = users.id AND n.read_at IS NULL) - 1,"
        " (SELECT coalesce(max(id), 0) FROM notifications))"
    )
    first_unread_announcement = (
        "(SELECT min(n.id) FROM notifications n"
        " WHERE n.user_id IS NULL AND n.id > users.announcements_after_id"
        " AND NOT EXISTS (SELECT 1 FROM announcement_reads r"
        "  WHERE r.notification_id = n.id AND r.user_id = users.id))"
    )
    op.execute(
        f"UPDATE users SET read_through_id = {first_unread_announcement} - 1"
        f" WHERE {first_unread_announcement} - 1 < read_through_id"
    )
    op.execute(
        "UPDATE users SET unread_count ="
        " (SELECT count(*) FROM notifications n"
        "  WHERE n.user_id = users.id AND n.read_at IS NULL AND n.id > users.read_through_id)"
        f" - (SELECT count(*) FROM announcement_reads r"
        f"  WHERE r.user_id = users.id AND r.notification_id > {WATERMARK})"
    )
    op.execute(
        "DELETE FROM announcement_reads WHERE notification_id <="
        f" (SELECT {WATERMARK} FROM users WHERE users.id = announcement_reads.user_id)"
    )


def downgrade():
    # The old model keeps one read row per user per announcement read.
    op.execute(
        "INSERT INTO announcement_reads (notification_id, user_id, read_at)"
        " SELECT n.id, users.id, CURRENT_TIMESTAMP FROM users JOIN notifications n"
        "  ON n.user_id IS NULL AND n.id > users.announcements_after_id"
        "  AND n.id <= users.read_through_id"
        " WHERE NOT EXISTS (SELECT 1 FROM announcement_reads r"
        "  WHERE r.notification_id = n.id AND r.user_id = users.id)"
    )
    op.execute(
        "UPDATE notifications SET read_at = CURRENT_TIMESTAMP"
        " WHERE user_id IS NOT NULL AND read_at IS NULL AND id <="
        " (SELECT read_through_id FROM users WHERE users.id = notifications.user_id)"
    )
    op.drop_index('uq_notifications_announcement_seq', table_name='notifications')
    op.drop_column('notifications', 'announcement_seq')
    op.drop_column('users', 'announcements_after_id')
    op.drop_column('users', 'read_through_id')
    op.drop_column('users', 'unread_count')
