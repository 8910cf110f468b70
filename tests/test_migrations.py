"""The checked-in migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from fitness_app import create_app
from fitness_app.extensions import db


def test_migrations_match_models(database):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations disagree; run `flask db migrate`: {diff}"
        downgrade(revision="base")
        upgrade()
        db.engine.dispose()
