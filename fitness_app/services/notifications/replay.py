"""Resending what a Redis pub/sub gap may have kept from this worker's connections.

`realtime/queue.py` notices each gap and calls `resend_since` (passed to it by
`create_app`); why a gap needs it is explained there.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import partial

import sqlalchemy as sa
from flask import Flask

from fitness_app import outages
from fitness_app.extensions import db
from fitness_app.models import Notification, User
from fitness_app.realtime import push, queue
from fitness_app.services.notifications.inbox import visible_to
from fitness_app.services.notifications.links import links_for
from fitness_app.services.notifications.payload import serialize
from fitness_app.services.notifications.unread_counts import unread_counts

log = logging.getLogger(__name__)


def _created_since(user: User, since: datetime, limit: int) -> list[Notification]:
    return list(
        db.session.scalars(
            sa.select(Notification)
            .where(visible_to(user), Notification.created_at >= since)
            .order_by(Notification.id)
            .limit(limit)
        )
    )


def _utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def resend_since(app: Flask, since: datetime) -> None:
    """Resend to this worker's connections what a pub/sub gap may have kept from them.

    A database outage at that moment (Redis and the database restarted
    together) delays the resend until the database answers; it is not skipped.
    """
    try:
        users = outages.retry_through(app, "the resend after a Redis gap",
                                      partial(_resend, app, since))
        log.info("message queue: subscribed; resent to %d users what they may have "
                 "missed since %s", users, since.isoformat())
    except Exception:  # noqa: BLE001 - a background task: log, never kill the worker
        log.exception("message queue: resync after a gap failed")


def _resend(app: Flask, since: datetime) -> int:
    by_user: dict[int, list[tuple[str, int, datetime]]] = {}
    for sid, (user_id, after, arrived) in queue.connections(app).items():
        by_user.setdefault(user_id, []).append((sid, after, arrived))
    counts = unread_counts(by_user)
    for user_id, connections in by_user.items():
        user = db.session.get(User, user_id)
        if user is None:
            continue
        rows = _created_since(user, since, app.config["REPLAY_LIMIT"])
        links = links_for(rows)
        missed = [(n.id, _utc(n.created_at), serialize(n, links)) for n in rows]
        for sid, after, arrived in connections:
            for notification_id, created_at, payload in missed:
                if notification_id > after or created_at <= arrived:
                    push.emit("notification", payload, to=sid)
            push.emit("unread_count", {"count": counts.get(user_id, 0)}, to=sid)
    return len(by_user)
