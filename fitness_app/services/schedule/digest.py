"""The daily digest email: the last 24 hours' notifications still unread, at most 20.

The scheduler's turn only queues a composer (after its COMMIT); the process's
mail task composes and sends it (`accounts.mail`), so SMTP never holds the
loop or a batch. The composer reads what is unread when it runs, and returns
no message when nothing is, or when the user turned the digest off meanwhile.

At most once, by design: the turn that claims the digest's row moves it to
tomorrow in its COMMIT, and only then is the mail queued. Two workers never
claim the same row (SKIP LOCKED), and a crash, a restart or a mail server
that refuses the message loses that day's digest (logged) rather than sending
it twice; nothing retries it. Why: docs/architecture.md, "Digest delivery".

Every digest carries `List-Unsubscribe` with an https link to a signed token
and `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): a mail
client's one-click POST to that link turns the digest off, without a session
or a CSRF token; a person who opens it gets a page with a button.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import current_app
from flask_mailman import EmailMessage
from itsdangerous import BadSignature, URLSafeSerializer

from fitness_app.extensions import db
from fitness_app.models import DueItem, Notification, User
from fitness_app.services import timezones
from fitness_app.services.accounts import mail
from fitness_app.services.notifications.unread_counts import is_unread_for
from fitness_app.services.schedule.batch import Claimed, Work

if TYPE_CHECKING:
    from fitness_app.services.schedule.plan import Person

LIMIT = 20
WINDOW = timedelta(hours=24)
_FLOOR_KEY = "fitness_digest_floor"


def run(items: list[Claimed], users: dict[int, Person], now: datetime) -> Work:
    """After COMMIT, queue one composer per claimed user; the mail task does the rest.

    The COMMIT that precedes these has already moved each row to its next day:
    the claim is the mark, so whatever becomes of the mail, no turn sends it again.
    """
    return Work(after_commit=[partial(mail.send_later, partial(compose, item.user_id, now))
                              for item in items if item.user_id in users])


def compose(user_id: int, now: datetime) -> EmailMessage | None:
    """The digest for one user as of `now`, or None when there is nothing to say."""
    user = db.session.get(User, user_id)
    if user is None or user.digest_time is None:
        return None
    unread = unread_since(user, now - WINDOW, LIMIT + 1)
    if not unread:
        return None
    shown, more = unread[:LIMIT], len(unread) > LIMIT
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    unsubscribe = f"{base}/digest/unsubscribe/{token_for(user)}"
    count = f"{len(shown)}{'+' if more else ''}"
    noun = "notification" if len(shown) == 1 and not more else "notifications"
    lines = [f"Hello {user.username},", "",
             f"You have {count} unread {noun} from the last 24 hours:", ""]
    for notification in shown:
        local = timezones.local_time(notification.created_at, user.timezone)
        lines.append(f"- {notification.title}: {notification.message} ({local:%a %H:%M})")
    if more:
        lines.append("- … and more in your inbox.")
    lines += ["", f"Read them in your inbox: {base}/notifications/", "",
              f"This email comes every day at {user.digest_time:%H:%M} ({user.timezone}).",
              f"Change the time in your settings: {base}/settings/",
              f"Stop these emails with one click: {unsubscribe}"]
    return EmailMessage(
        subject=f"{count} unread {noun} on fitness_app",
        body="\n".join(lines) + "\n",
        to=[user.email],
        headers={"List-Unsubscribe": f"<{unsubscribe}>",
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )


def unread_since(user: User, since: datetime, limit: int) -> list[Notification]:
    """The user's unread notifications created since `since`, newest first.

    Each of the two index ranges (the user's own rows, announcements) is read
    backwards from the newest id down to the first id of the window, never
    further, however old the user's history.
    """
    floor = _first_id_since(since)
    if floor is None:
        return []
    arms = (
        Notification.user_id == user.id,
        sa.and_(Notification.user_id.is_(None),
                Notification.id > user.announcements_after_id),
    )
    found: list[Notification] = []
    for arm in arms:
        found += db.session.scalars(
            sa.select(Notification)
            .where(arm, Notification.id >= floor, Notification.created_at >= since,
                   is_unread_for(user))
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    return sorted(found, key=lambda n: n.id, reverse=True)[:limit]


def _first_id_since(since: datetime) -> int | None:
    """The lowest notification id created at or after `since`, by primary-key probes only.

    Ids grow with creation time, so a binary search over the id range finds
    the window's start in about 30 probes of the primary key, with no index on
    `created_at` for every INSERT to maintain. Kept per process for the
    minute once found (later rows only get higher ids): a burst of digests
    pays for it once.
    """
    minute = since.replace(second=0, microsecond=0)
    cached = current_app.extensions.get(_FLOOR_KEY)
    if cached and cached[0] == minute:
        return cached[1]
    table = Notification.__table__
    bounds = sa.select(sa.func.min(table.c.id), sa.func.max(table.c.id))
    low, high = db.session.execute(bounds).one()
    floor = None
    if high is not None and _starts_in_window(high, minute):
        while low < high:
            middle = (low + high) // 2
            if _starts_in_window(middle, minute):
                high = middle
            else:
                low = middle + 1
        floor = low
        current_app.extensions[_FLOOR_KEY] = (minute, floor)
    return floor


def _starts_in_window(notification_id: int, since: datetime) -> bool:
    """Whether the first notification at or above this id was created at or after `since`."""
    table = Notification.__table__
    created = db.session.scalar(
        sa.select(table.c.created_at).where(table.c.id >= notification_id)
        .order_by(table.c.id).limit(1)
    )
    return created is not None and timezones.local_time(created, None) >= since


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="digest-unsubscribe")


def token_for(user: User) -> str:
    """The unsubscribe token: the user's id and address, signed. It does not expire."""
    return _serializer().dumps([user.id, user.email])


def user_for(token: str) -> User | None:
    """The user a token names, or None for a forged token or one of a deleted account."""
    try:
        user_id, email = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    return user if user is not None and user.email == email else None


def turn_off(user: User) -> None:
    """No more digests: the setting and its due row go in one commit."""
    user.digest_time = None
    db.session.execute(sa.delete(DueItem).where(DueItem.user_id == user.id,
                                                DueItem.kind == "digest"))
    db.session.commit()
