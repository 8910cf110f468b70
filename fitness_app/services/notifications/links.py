"""Where a notification leads, and what it says when what it is about was deleted.

A notification outlives what it is about: a workout can be deleted the day
after its completion was announced. A row about a workout (its
`data.workout_id`, or the workout id in its page's path) whose workout is
gone leads to the workouts list, and the inbox says so, instead of opening a
404. A `comment` notification quotes the comment (`data.comment_id`); once
that comment is deleted, by its author, the workout's owner or an admin
acting on a report, the quote is no longer shown anywhere: the words an admin
removed must not live on in every inbox they reached. Which of a page's
workouts and comments are gone is one query by primary key each for the
whole page (`links_for`), never one per row.

Paths are literal rather than `url_for`, because `flask announce` serialises
outside any request, where `url_for` cannot build URLs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from fitness_app.extensions import db
from fitness_app.models import Comment, Notification, Workout
from fitness_app.services.social.visibility import blocked_either_way, seen_by_each

WORKOUTS_PAGE = "/workouts/"
_WORKOUT_PAGE = re.compile(r"/workouts/(\d+)(?:/|$)")
COMMENT_GONE = "This comment was deleted."


def page_for(notification: Notification) -> str:
    """The local path of the page the notification is about, while that page exists."""
    data = notification.data or {}
    if notification.kind == "workout_completed" and isinstance(data.get("workout_id"), int):
        return f"/workouts/{data['workout_id']}"
    if notification.kind == "workout_completed":
        return WORKOUTS_PAGE
    if notification.kind in ("goal_achieved", "personal_record", "streak"):
        return "/goals/"
    if notification.kind == "announcement":
        return "/notifications/"
    if (notification.kind in ("reminder", "kudos", "comment")
            and isinstance(data.get("workout_id"), int)):
        return f"/workouts/{data['workout_id']}"
    if notification.kind == "follow_request":
        return "/followers/requests"
    if notification.kind == "follow_accepted" and isinstance(data.get("username"), str):
        return f"/u/{quote(data['username'], safe='')}"
    if notification.kind == "goal_nudge":
        return "/goals/"
    if notification.kind == "weekly_summary":
        return WORKOUTS_PAGE
    if notification.kind == "import_finished" and isinstance(data.get("import_id"), int):
        return f"/workouts/imports/{data['import_id']}"
    return "/"


def workout_about(data: Mapping[str, Any], page: str) -> int | None:
    """The workout a notification is about: `data.workout_id`, else the id in its page's path."""
    value = data.get("workout_id")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _WORKOUT_PAGE.match(page)
    return int(match.group(1)) if match else None


def comment_about(notification: Notification) -> int | None:
    """The comment a `comment` notification quotes (`data.comment_id`), if it names one."""
    value = (notification.data or {}).get("comment_id")
    if notification.kind != "comment" or isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


@dataclass(frozen=True)
class Links:
    """Where each notification of one page (or batch) leads, knowing what is gone."""

    deleted: frozenset[int] = frozenset()
    deleted_comments: frozenset[int] = frozenset()

    def message(self, notification: Notification) -> str:
        """The stored message, or none of a comment's words once it, or its workout, is gone."""
        if self.comment_deleted(notification) or (
            notification.kind == "comment" and self.workout_deleted(notification)
        ):
            return COMMENT_GONE
        return notification.message

    def comment_deleted(self, notification: Notification) -> bool:
        """Whether the comment this notification quotes no longer exists."""
        return comment_about(notification) in self.deleted_comments

    def url(self, notification: Notification) -> str:
        """The notification's page, or the workouts list when its workout was deleted."""
        return WORKOUTS_PAGE if self.workout_deleted(notification) else page_for(notification)

    def workout_deleted(self, notification: Notification) -> bool:
        """Whether the workout this notification is about no longer exists."""
        workout_id = workout_about(notification.data or {}, page_for(notification))
        return workout_id is not None and workout_id in self.deleted


# For notifications created in the current transaction: what they are about exists.
FRESH = Links()


def links_for(notifications: Iterable[Notification]) -> Links:
    """Links for stored notifications: one query each for the workouts and comments named.

    What its reader may no longer see counts as gone, through the one rule
    (`social.visibility`): a workout after a block or a narrowed visibility,
    a comment whose author and reader are blocked either way. To them it is a
    404 exactly as if it did not exist, so the inbox must neither lead there
    nor quote it. A page or a replay holds one reader's rows: one query per
    reader in the batch.
    """
    workouts: dict[int | None, set[int]] = {}
    comments: dict[int | None, set[int]] = {}
    for n in notifications:
        if (workout_id := workout_about(n.data or {}, page_for(n))) is not None:
            workouts.setdefault(n.user_id, set()).add(workout_id)
        if (comment_id := comment_about(n)) is not None:
            comments.setdefault(n.user_id, set()).add(comment_id)
    return Links(
        frozenset().union(*(_gone(Workout, reader, ids) for reader, ids in workouts.items())),
        frozenset().union(*(_gone(Comment, reader, ids) for reader, ids in comments.items())),
    )


def _gone(model: type[Workout] | type[Comment], reader: int | None,
          wanted: set[int]) -> frozenset[int]:
    """Which of `wanted` no longer exist, or exist no longer for `reader`."""
    query = sa.select(model.id).where(model.id.in_(wanted))
    if reader is not None:
        query = query.where(seen_by_each(reader) if model is Workout
                            else ~blocked_either_way(reader, Comment.user_id))
    return frozenset(wanted.difference(db.session.scalars(query)))
