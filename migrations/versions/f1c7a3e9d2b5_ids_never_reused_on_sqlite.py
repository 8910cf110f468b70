"""ids never reused on SQLite: AUTOINCREMENT on every table with an integer id

Revision ID: f1c7a3e9d2b5
Revises: f1c7a9d3b5e2
Create Date: 2026-12-03 16:10:00

Without AUTOINCREMENT, SQLite gives the id of a deleted newest row to the next
row, so a client that de-duplicates notifications by id, or an old notification
that links to a deleted workout, would meet someone else's row under that id.
SQLite cannot add AUTOINCREMENT to a table, so each table is rebuilt (Alembic's
batch mode), rows, indexes and foreign keys included; the copied ids seed
`sqlite_sequence`, so the next id is above the highest one kept. PostgreSQL's
sequences never go back: nothing to do there.
"""
from alembic import op


revision = 'f1c7a3e9d2b5'
down_revision = 'f1c7a9d3b5e2'
branch_labels = None
depends_on = None

TABLES = ('users', 'logins', 'workouts', 'goals', 'achievements', 'notifications',
          'imports', 'import_entries', 'due_items')


def upgrade():
    if op.get_bind().dialect.name != 'sqlite':
        return
    # A rebuild drops the old table; with foreign keys on, that DROP would run
    # ON DELETE CASCADE / SET NULL on every child row. The pragma only takes
    # effect outside a transaction, hence the autocommit blocks.
    context = op.get_context()
    with context.autocommit_block():
        op.execute('PRAGMA foreign_keys=OFF')
    try:
        for table in TABLES:
            with op.batch_alter_table(table, recreate='always',
                                      table_kwargs={'sqlite_autoincrement': True}):
                pass
        dangling = op.get_bind().exec_driver_sql('PRAGMA foreign_key_check').fetchall()
        if dangling:
            raise RuntimeError(f'foreign keys broken by the rebuild: {dangling[:5]}')
    finally:
        with context.autocommit_block():
            op.execute('PRAGMA foreign_keys=ON')


def downgrade():
    """Keeps AUTOINCREMENT: ids that never come back are right under the older schema too."""
