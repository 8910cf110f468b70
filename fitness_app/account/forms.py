"""Account forms. The password checks run in `validate`, so views stay a few lines long."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from fitness_app.auth.forms import MIN_PASSWORD, normalise_email
from fitness_app.services import passwords


def text_only(value: Any) -> Any:
    """A JSON number or an uploaded file where text belongs reads as an empty field."""
    return value if isinstance(value, str) or value is None else ""


def is_current_password(field: PasswordField, message: str) -> bool:
    """Check the signed-in user's password, last: only a form valid otherwise pays for a hash."""
    if passwords.check_password(current_user.password_hash, field.data):
        return True
    field.errors.append(message)
    return False


class NewPasswordForm(FlaskForm):
    """The rules of registration: at least 8 characters, typed twice."""

    password = PasswordField(
        "New password",
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD, max=128, message="Use at least 8 characters."),
        ],
        filters=[text_only],
    )
    confirm = PasswordField(
        "Repeat password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
        filters=[text_only],
    )


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired()], filters=[text_only]
    )

    def validate(self, extra_validators: Any = None) -> bool:
        return super().validate(extra_validators) and is_current_password(
            self.current_password, "That is not your current password."
        )


class DeleteAccountForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired()], filters=[text_only])

    def validate(self, extra_validators: Any = None) -> bool:
        return super().validate(extra_validators) and is_current_password(
            self.password, "That is not your password. Nothing was deleted."
        )


class ResetRequestForm(FlaskForm):
    email = EmailField(
        "Email",
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
        filters=[text_only, normalise_email],
    )
