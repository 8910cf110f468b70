"""The broadcast form."""

from __future__ import annotations

from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from fitness_app.forms import Form, strip


class BroadcastForm(Form):
    message = TextAreaField(
        "Announcement",
        validators=[
            DataRequired(message="Write the announcement."),
            Length(min=1, max=500, message="Keep it to 500 characters."),
        ],
        filters=[strip],
    )
