"""Which notifications a user may see, read through index range scans only.

Personal rows are found by `(user_id, id)`; announcements by the same index
with `user_id` NULL, above the id the user joined at. Replay on connect, the
inbox page and `/api/notifications` all stay range scans, whatever the age of
the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import Notification, User


def visible_to(user: User) -> sa.ColumnElement[bool]:
    """Rows a user may see: their own, and announcements made since they joined."""
    return sa.or_(
        Notification.user_id == user.id,
        sa.and_(
            Notification.user_id.is_(None), Notification.id > user.announcements_after_id
        ),
    )


def _arms(user: User) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    """The two index ranges a user's rows live in: their own, and announcements."""
    return (
        Notification.user_id == user.id,
        sa.and_(
            Notification.user_id.is_(None), Notification.id > user.announcements_after_id
        ),
    )


def _merged(user: User, condition: sa.ColumnElement[bool], newest_first: bool,
            limit: int, offset: int = 0) -> list[Notification]:
    """Rows from both ranges, each read in id order and cut at `offset + limit`.

    An OR of the two would make the database collect every visible row and
    sort them before LIMIT; two ordered, limited scans stop early.
    """
    order = Notification.id.desc() if newest_first else Notification.id
    arms = [
        sa.select(Notification.id).where(arm, condition).order_by(order).limit(offset + limit)
        for arm in _arms(user)
    ]
    found = sorted(
        (i for arm in arms for i in db.session.scalars(arm)), reverse=newest_first
    )[offset : offset + limit]
    if not found:
        return []
    rows = {n.id: n for n in db.session.scalars(sa.select(Notification).where(
        Notification.id.in_(found)))}
    return [rows[i] for i in found]


def list_after(user: User, after: int, limit: int) -> list[Notification]:
    """The user's notifications with an id above `after`, oldest first."""
    return _merged(user, Notification.id > after, newest_first=False, limit=limit)


@dataclass(frozen=True)
class Page:
    """One inbox page, with the names the template's pagination links use."""

    items: list[Notification]
    page: int
    pages: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def inbox_page(user: User, page: int, per_page: int) -> Page:
    """Everything the user may see, newest first, one page of it.

    The total counts the user's own rows through the `(user_id, id)` index and
    takes the announcements from their sequence numbers.
    """
    own = db.session.scalar(
        sa.select(sa.func.count()).select_from(Notification).where(
            Notification.user_id == user.id)
    ) or 0
    total = own + visible_announcements(user)
    pages = max(1, -(-total // per_page))
    page = max(1, page)
    items = _merged(user, sa.true(), newest_first=True, limit=per_page,
                    offset=(page - 1) * per_page)
    return Page(items=items, page=page, pages=pages)


def visible_announcements(user: User) -> int:
    """How many announcements the user may see: two sequence numbers, two index lookups."""
    newest = db.session.scalar(sa.select(sa.func.max(Notification.announcement_seq))) or 0
    before = db.session.scalar(
        sa.select(Notification.announcement_seq)
        .where(Notification.user_id.is_(None), Notification.id <= user.announcements_after_id)
        .order_by(Notification.id.desc())
        .limit(1)
    ) or 0
    return newest - before


def latest_id(user: User) -> int:
    """The highest id the user may see: two index lookups, one per kind of row."""
    personal = sa.select(sa.func.max(Notification.id)).where(Notification.user_id == user.id)
    announced = sa.select(sa.func.max(Notification.id)).where(
        Notification.user_id.is_(None), Notification.id > user.announcements_after_id
    )
    return max(db.session.scalar(personal) or 0, db.session.scalar(announced) or 0)
