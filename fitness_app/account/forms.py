"""Account forms. The password checks run in `validate`, so views stay a few lines long."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from wtforms import PasswordField
from wtforms.validators import DataRequired, Length

from fitness_app.auth.forms import MAX_PASSWORD, RegisterForm
from fitness_app.forms import Form
from fitness_app.services.accounts import passwords


def is_current_password(field: PasswordField, message: str) -> bool:
    """Check the signed-in user's password, last: only a form valid otherwise pays for a hash."""
    if passwords.check_password(current_user.password_hash, field.data):
        return True
    field.errors.append(message)
    return False


class NewPasswordForm(Form):
    """A new password under the rules of registration: the same validators, not a copy."""

    password = PasswordField("New password", validators=RegisterForm.password.kwargs["validators"])
    confirm = PasswordField("Repeat password", validators=RegisterForm.confirm.kwargs["validators"])


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(
        "Current password",
        validators=[
            DataRequired(message="Enter your current password."),
            Length(max=MAX_PASSWORD, message="That is not your current password."),
        ],
    )

    def validate(self, extra_validators: Any = None) -> bool:
        return super().validate(extra_validators) and is_current_password(
            self.current_password, "That is not your current password."
        )


class DeleteAccountForm(Form):
    password = PasswordField(
        "Password",
        validators=[
            DataRequired(message="Enter your password to confirm."),
            Length(max=MAX_PASSWORD, message="That is not your password. Nothing was deleted."),
        ],
    )

    def validate(self, extra_validators: Any = None) -> bool:
        return super().validate(extra_validators) and is_current_password(
            self.password, "That is not your password. Nothing was deleted."
        )


class ResetRequestForm(Form):
    # Registration's own field: the address is read exactly as it was stored.
    email = RegisterForm.email
