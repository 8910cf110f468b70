"""Two app instances' scheduler loops run side by side until nothing due is left."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import Flask

from deploy.processes import wait_until
from fitness_app.extensions import db
from fitness_app.models import DueItem
from fitness_app.services.schedule import loop


def drain_with_two_workers(first: Flask, second: Flask, now: datetime) -> None:
    """Start both apps' real loops (`loop.start`), wait until no row due by `now` is left,
    and stop them, whatever happened."""
    try:
        loop.start(first)
        loop.start(second)

        def all_done() -> bool:
            with first.app_context():
                pending = db.session.scalar(sa.select(sa.func.count()).select_from(
                    DueItem).where(DueItem.due_at <= now))
                db.session.rollback()
                return pending == 0
        wait_until(all_done, timeout=90, message="every due row claimed and moved on")
    finally:
        loop.stop(first)
        loop.stop(second)
