"""Account forms. Lookups happen in `validate`, so views stay a few lines long."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Regexp

from fitness_app.extensions import db
from fitness_app.models import User

MIN_PASSWORD = 8


def normalise_email(value: str | None) -> str | None:
    return value.strip().lower() if isinstance(value, str) else value


class RegisterForm(FlaskForm):
    username = StringField(
        "Username",
        validators=[
            DataRequired(),
            Length(min=3, max=32),
            Regexp(
                r"^[A-Za-z0-9_.-]+$",
                message="Use letters, digits, dots, dashes or underscores.",
            ),
        ],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    email = EmailField(
        "Email",
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
        filters=[normalise_email],
    )
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD, max=128, message="Use at least 8 characters."),
        ],
    )
    confirm = PasswordField(
        "Repeat password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
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


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()], filters=[normalise_email])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Remember me")

    user: User | None = None

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        user = db.session.scalar(sa.select(User).where(User.email == self.email.data))
        if user is None or not user.check_password(self.password.data):
            self.password.errors.append("Wrong email or password.")
            return False
        self.user = user
        return True
