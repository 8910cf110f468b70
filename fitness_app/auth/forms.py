"""Account forms. Lookups happen in `validate`, so views stay a few lines long."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp

from fitness_app.extensions import db
from fitness_app.forms import Form, strip
from fitness_app.models import User
from fitness_app.services.accounts import passwords

MIN_PASSWORD = 8
MAX_PASSWORD = 128


def normalise_email(value: str | None) -> str | None:
    return value.strip().lower() if isinstance(value, str) else value


class RegisterForm(Form):
    username = StringField(
        "Username",
        validators=[
            DataRequired(message="Choose a username."),
            Length(min=3, max=32, message="Use 3 to 32 characters."),
            Regexp(
                r"^[A-Za-z0-9_.-]+$",
                message="Use letters, digits, dots, dashes or underscores.",
            ),
        ],
        filters=[strip],
    )
    email = EmailField(
        "Email",
        validators=[
            DataRequired(message="Enter your email address."),
            Length(max=254, message="Use an address of at most 254 characters."),
            Email(
                check_deliverability=False,
                message="Enter an email address, such as name@example.com.",
            ),
        ],
        filters=[normalise_email],
    )
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(message="Choose a password."),
            Length(
                min=MIN_PASSWORD,
                max=MAX_PASSWORD,
                message=f"Use {MIN_PASSWORD} to {MAX_PASSWORD} characters.",
            ),
        ],
    )
    confirm = PasswordField(
        "Repeat password",
        validators=[
            DataRequired(message="Type the password again."),
            EqualTo("password", message="The passwords do not match."),
        ],
    )
    # Filled from the browser by static/js/timezone.js; absent or unknown means UTC.
    timezone = HiddenField()

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        ok = True
        if db.session.scalar(sa.select(User.id).where(User.email == self.email.data)):
            self.email.errors.append("That email is already registered.")
            ok = False
        if db.session.scalar(
            sa.select(User.id).where(sa.func.lower(User.username) == self.username.data.lower())
        ):
            self.username.errors.append("That username is taken.")
            ok = False
        return ok


class LoginForm(Form):
    email = EmailField(
        "Email",
        validators=[
            DataRequired(message="Enter your email address."),
            Length(max=254, message="Use an address of at most 254 characters."),
        ],
        filters=[normalise_email],
    )
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(message="Enter your password."),
            Length(max=MAX_PASSWORD, message="Wrong email or password."),
        ],
    )
    remember = BooleanField("Remember me")

    user: User | None = None

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        user = db.session.scalar(sa.select(User).where(User.email == self.email.data))
        if user is None or not passwords.check_password(user.password_hash, self.password.data):
            self.password.errors.append("Wrong email or password.")
            return False
        self.user = user
        return True
