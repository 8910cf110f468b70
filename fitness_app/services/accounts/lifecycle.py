"""Account life cycle: password reset by email, password change, account deletion.

A new password and the end of the other sessions commit together; only then
do sockets close and mail leave, so a change that rolled back signs nobody out
and tells nobody anything.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import partial

import sqlalchemy as sa
from flask import current_app, request
from flask_mailman import EmailMessage
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from werkzeug.routing import MapAdapter

from fitness_app.extensions import db
from fitness_app.models import User
from fitness_app.services.accounts import logins, mail, passwords
from fitness_app.services.social import comments, follows, kudos

RESET_SALT = "fitness_app.password-reset"
RESET_ENDPOINT = "account_reset.reset_password"
# A real token is about 90 characters; anything much longer is not one of ours.
MAX_TOKEN_LENGTH = 256


class InvalidResetLink(Exception):
    """A reset token that is forged, expired, or spent (the password changed since)."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def _fingerprint(user: User) -> str:
    """A keyed digest of the password hash: it changes whenever the password does.

    Folded into the token, it makes the token single-use (setting a password
    changes the hash, and so spends every earlier link) without a table of used
    tokens. The token's payload is readable, so it carries this digest, never
    the hash.
    """
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, user.password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def reset_token(user: User) -> str:
    return _serializer().dumps([user.id, _fingerprint(user)])


def user_for_reset_token(token: str) -> User:
    """The user a reset link was made for, or InvalidResetLink."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise InvalidResetLink()
    try:
        user_id, fingerprint = _serializer().loads(
            token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"]
        )
    except SignatureExpired as exc:
        raise InvalidResetLink(expired=True) from exc
    except (BadData, TypeError, ValueError) as exc:
        raise InvalidResetLink() from exc
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not isinstance(fingerprint, str):
        raise InvalidResetLink()
    if not hmac.compare_digest(fingerprint, _fingerprint(user)):
        raise InvalidResetLink()
    return user


def request_reset(email: str) -> None:
    """Mail a reset link if `email` has an account; the request cannot tell which.

    The request only queues the composer: the lookup, the token and the send
    all happen in the mail task, so the answer takes the same time and says
    the same thing whether or not the address exists.
    """
    adapter = current_app.create_url_adapter(request)
    mail.send_later(partial(_reset_message, email, adapter))


def _reset_message(email: str, adapter: MapAdapter) -> EmailMessage | None:
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        return None
    link = adapter.build(RESET_ENDPOINT, {"token": reset_token(user)}, force_external=True)
    minutes = current_app.config["PASSWORD_RESET_MAX_AGE"] // 60
    body = _render("account/email/reset.txt", user=user, link=link, minutes=minutes)
    return mail.message(user.email, "Reset your fitness_app password", body)


def _password_changed_message(user_id: int) -> EmailMessage | None:
    user = db.session.get(User, user_id)
    if user is None:
        return None
    body = _render("account/email/password_changed.txt", user=user)
    return mail.message(user.email, "Your fitness_app password was changed", body)


def _render(template: str, **context: object) -> str:
    # Straight from the Jinja environment: the page context processors need a
    # signed-in request, and a mail task has none.
    return current_app.jinja_env.get_template(template).render(**context)


def set_password(user: User, password: str, *, keep_current: bool) -> None:
    """Store a new password, then end the user's other sessions and tell them by mail.

    `keep_current` keeps this browser signed in (a change on /settings/); a
    reset ends every session, and the caller signs the user in anew.
    """
    new_hash = passwords.hash_password(password)
    # One transaction: the new password, the end of the other logins and their
    # push subscriptions commit together, so no failure in between leaves one
    # without the others.
    with logins.ending_all(user.id, keep_current=keep_current):
        user.password_hash = new_hash
    mail.send_later(partial(_password_changed_message, user.id))


def reset_password(user: User, password: str) -> None:
    """Set the password from a reset link: every session ends, this browser signs in."""
    set_password(user, password, keep_current=False)
    logins.begin(user)


def delete_account(user: User) -> None:
    """Delete the user and, by ON DELETE CASCADE, their rows; then close their sockets.

    One DELETE, whatever the user's history: the database removes the rows
    that reference the user without loading them. The counters no cascade
    would touch move in the same transaction: the follow counters of the
    people on the other side of their follows (three UPDATEs, however many
    follows), and the kudos and comment counters of other people's workouts
    the user reacted to. It commits with the end of every login, so a
    failure leaves the account and its sessions whole; the sockets close, on
    every worker, only once it is gone.
    """
    user_id = user.id
    with logins.ending_all(user_id):
        follows.forget_user(user_id)
        kudos.before_account_deleted(user_id)
        comments.before_account_deleted(user_id)
        db.session.execute(sa.delete(User).where(User.id == user_id))
