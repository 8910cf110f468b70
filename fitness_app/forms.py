"""What every form shares: form bodies only, plain-word messages, safe validators.

Flask-WTF reads JSON bodies and uploaded files as form data, and WTForms'
validators assume strings: a JSON number where a title belongs, or a file,
used to reach the database or raise inside a validator (a 500). Here a form
reads only the text parts of a form body; a file where text belongs is a field
error, and any other body type is refused with 415 before a view runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, current_app, render_template, request
from flask_wtf import FlaskForm
from wtforms.validators import ValidationError

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Unicode's control characters (category Cc is exactly U+0000-U+001F and U+007F-U+009F),
# less the tab and line breaks a text area holds: one regex search per value, in C,
# instead of a category lookup per character in Python on every form field.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
View = TypeVar("View", bound=Callable[..., Any])


def init_app(app: Flask) -> None:
    app.before_request(require_form_body)


def accepts_json(view: View) -> View:
    """Mark a view that reads a JSON body itself (`/push/subscriptions`), so no 415 for it."""
    view.accepts_json = True  # type: ignore[attr-defined]
    return view


def require_form_body() -> None:
    """Every route that takes a body takes a form: anything else is a 415, not a guess."""
    if request.method not in BODY_METHODS or request.mimetype in FORM_TYPES:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "accepts_json", False):
        return
    chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    if request.content_length or chunked:
        abort(415, "Send this form as application/x-www-form-urlencoded or multipart/form-data.")


def strip(value: Any) -> Any:
    """Filter: drop the spaces around typed text."""
    return value.strip() if isinstance(value, str) else value


def render_form(template: str, form: FlaskForm, **context: Any) -> tuple[str, int]:
    """Show a form: 200 when asked for, 400 when a POST came back with errors."""
    status = 400 if request.method in BODY_METHODS else 200
    return render_template(template, form=form, **context), status


class PlainWords:
    """WTForms' stock messages in plain words, through WTForms' translations hook."""

    MESSAGES = {
        "This field is required.": "Fill in this field.",
        "Not a valid integer value.": "Enter a whole number.",
        "Not a valid float value.": "Enter a number.",
        "Not a valid decimal value.": "Enter a number.",
        "Not a valid date value.": "Enter a date.",
        "Not a valid datetime value.": "Enter a date and time.",
        "Not a valid time value.": "Enter a time.",
        "Not a valid choice.": "Choose one of the options.",
        "Invalid email address.": "Enter an email address, such as name@example.com.",
        "Invalid input.": "Check this value.",
        "Field must be equal to %(other_name)s.": "This does not match %(other_name)s.",
        "Field must be between %(min)d and %(max)d characters long.":
            "Use %(min)d to %(max)d characters.",
        "Number must be between %(min)s and %(max)s.": "Enter a number from %(min)s to %(max)s.",
        "Number must be at least %(min)s.": "Enter %(min)s or more.",
        "Number must be at most %(max)s.": "Enter %(max)s or less.",
    }
    PLURALS = {
        "Field must be at least %(min)d characters long.": "Use at least %(min)d characters.",
        "Field cannot be longer than %(max)d characters.": "Use at most %(max)d characters.",
        "Field must be exactly %(max)d characters long.": "Use exactly %(max)d characters.",
    }

    def gettext(self, string: str) -> str:
        return self.MESSAGES.get(string, string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.PLURALS.get(plural, singular if n == 1 else plural)


PLAIN_WORDS = PlainWords()


class Form(FlaskForm):
    """The base of every form in the app."""

    class Meta:
        def get_translations(self, form: Any) -> PlainWords:
            return PLAIN_WORDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not args and "formdata" not in kwargs and self.is_submitted():
            # Only the text parts of a form body; never JSON, never files. An
            # empty body is an empty form, so every required field says so.
            kwargs["formdata"] = request.form
        super().__init__(*args, **kwargs)

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        for field in self:
            if field.name in request.files:
                field.errors = ["Type text here; files are not accepted."]
                ok = False
            elif isinstance(field.raw_data, list) and any(
                _has_control_characters(value) for value in field.raw_data
            ):
                field.errors = ["Remove the control characters from this field."]
                ok = False
        return ok


def _has_control_characters(value: Any) -> bool:
    return isinstance(value, str) and _CONTROL_CHARACTERS.search(value) is not None


class InRange:
    """A number between `low` and `high`, safe for every value a field can hold.

    WTForms' NumberRange calls math.isnan, which raises OverflowError on a
    400-digit integer; comparing Python numbers never does. NaN and ±inf
    (which float() accepts) are refused too.
    """

    def __init__(self, low: float, high: float, message: str) -> None:
        self.low, self.high, self.message = low, high, message

    def __call__(self, form: Any, field: Any) -> None:
        value = field.data
        if value is None:
            return
        if value != value or not self.low <= value <= self.high:
            raise ValidationError(self.message)
