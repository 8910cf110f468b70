"""The comment form and the report form of a workout page."""

from __future__ import annotations

from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from fitness_app.forms import Form, strip
from fitness_app.services.social.comments import MAX_LENGTH
from fitness_app.services.social.reports import MAX_REASON


class CommentForm(Form):
    body = TextAreaField(
        "Comment",
        validators=[
            DataRequired(message="Write a comment."),
            Length(max=MAX_LENGTH, message=f"Keep it to {MAX_LENGTH} characters."),
        ],
        filters=[strip],
    )


class ReportForm(Form):
    reason = StringField(
        "Reason",
        validators=[
            Optional(),
            Length(max=MAX_REASON, message=f"Keep the reason to {MAX_REASON} characters."),
        ],
        filters=[strip],
    )
