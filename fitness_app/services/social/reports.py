"""Reports: anyone who may see a comment can ask the admins to look at it.

A report stays open until an admin deletes the comment (its reports go with
it) or dismisses the reports. One open report per reporter and comment, by a
partial unique index, so reporting again adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from fitness_app.extensions import db
from fitness_app.models import Comment, CommentReport, User, Workout, utcnow
from fitness_app.services.social.comments import visible_comment
from fitness_app.services.sql import insert_ignoring_duplicates

MAX_REASON = 500


@dataclass(frozen=True)
class OpenReport:
    """One open report as /admin/reports lists it."""

    id: int
    reason: str | None
    created_at: datetime
    reporter: str
    comment_id: int
    body: str
    author: str
    workout_id: int
    workout_title: str


def report(reporter: User, comment_id: int, reason: str | None) -> int | None:
    """Report a comment the reporter may see; its workout id, None when not found.

    Reporting a comment one has an open report on already changes nothing.
    """
    found = visible_comment(reporter.id, comment_id)
    if found is None:
        db.session.rollback()
        return None
    workout_id = found[1].id
    try:
        insert_ignoring_duplicates(CommentReport, {
            "comment_id": comment_id, "reporter_id": reporter.id, "reason": reason or None,
            "created_at": utcnow(),
        })
        db.session.commit()
    except sa.exc.IntegrityError:
        # The comment's deletion committed between the probe and the INSERT.
        db.session.rollback()
        return None
    return workout_id


def open_reports(after: int, limit: int) -> list[OpenReport]:
    """Open reports, oldest first, with id above `after`: a range of `ix_comment_reports_open`."""
    author = so.aliased(User)
    reporter = so.aliased(User)
    rows = db.session.execute(
        sa.select(CommentReport.id, CommentReport.reason, CommentReport.created_at,
                  reporter.username, Comment.id, Comment.body, author.username,
                  Comment.workout_id, Workout.title)
        .join(Comment, Comment.id == CommentReport.comment_id)
        .join(Workout, Workout.id == Comment.workout_id)
        .join(author, author.id == Comment.user_id)
        .join(reporter, reporter.id == CommentReport.reporter_id)
        .where(CommentReport.resolved_at.is_(None), CommentReport.id > after)
        .order_by(CommentReport.id)
        .limit(limit)
    ).all()
    return [OpenReport(*row) for row in rows]


def dismiss(comment_id: int) -> int:
    """Close every open report of a comment, which stays; how many were open."""
    result = db.session.execute(
        sa.update(CommentReport)
        .where(CommentReport.comment_id == comment_id, CommentReport.resolved_at.is_(None))
        .values(resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount
