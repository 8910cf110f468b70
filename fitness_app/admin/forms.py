"""The broadcast form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length


class BroadcastForm(FlaskForm):
    message = TextAreaField(
        "Announcement",
        validators=[
            DataRequired(message="Write the announcement."),
            Length(min=1, max=500, message="Keep it to 500 characters."),
        ],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
