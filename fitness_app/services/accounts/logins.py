"""Server-side logins: every signed-in browser is a row the server can delete.

Flask's session is a signed cookie; on its own nothing on the server can end
it, and a copy keeps working after logout. So each sign-in stores a row in
`logins`, and both the session cookie and the remember-me cookie carry that
row's random token (Flask-Login stores whatever `User.get_id` returns). The
user loader accepts a token only while its row exists. Ending a login deletes
the row, which kills every cookie carrying it, and disconnects the sockets
opened under it, on every worker.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from flask_login import current_user, login_user, logout_user

from fitness_app.extensions import db, login_manager
from fitness_app.models import Login, User, utcnow
from fitness_app.realtime import presence, push
from fitness_app.services.push import devices
from fitness_app.services.sql import lock_users

# Flask-Login's own default for the remember-me cookie.
DEFAULT_LIFETIME = timedelta(days=365)
# secrets.token_urlsafe(32) is 43 characters; anything much longer is not ours.
_MAX_TOKEN_LENGTH = 64


def init_app(app: Flask) -> None:
    login_manager.user_loader(load)


def begin(user: User, remember: bool = False) -> None:
    """Sign `user` in on this browser and record the login server-side (commits)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    # The user's logins past their lifetime can no longer load; drop them here,
    # where the work is bounded by one user's logins (their push devices with them).
    lock_users([user.id])
    expired = db.session.execute(
        sa.delete(Login).where(Login.user_id == user.id, Login.created_at < now - _lifetime())
    ).rowcount
    if expired:
        devices.recount([user.id])
    login = Login(user_id=user.id, token_hash=_digest(token), created_at=now)
    db.session.add(login)
    db.session.flush()
    user.login_token, user.login_id = token, login.id
    db.session.commit()
    login_user(user, remember=remember)


def end_current() -> None:
    """This login ends: its session and remember-me cookies (copies too) and its sockets."""
    login_id = getattr(current_user, "login_id", None)
    user_id = getattr(current_user, "id", None)
    logout_user()
    if login_id is None:
        return
    lock_users([user_id])
    db.session.execute(sa.delete(Login).where(Login.id == login_id))
    devices.recount([user_id])  # its push devices went with it
    db.session.commit()
    push.disconnect_login(str(login_id))


def end_all(user_id: int, *, keep_current: bool = False) -> None:
    """Every login of the user ends and every socket of the user closes, on every worker.

    With `keep_current`, the login of this request survives (a password change
    signs out the other devices, not the one that changed it).
    """
    with ending_all(user_id, keep_current=keep_current):
        pass


@contextmanager
def ending_all(user_id: int, *, keep_current: bool = False) -> Iterator[None]:
    """End the user's logins in one COMMIT with what the block changes; then close sockets.

    The logins' rows go (their push subscriptions with them, by ON DELETE
    CASCADE), the block adds its own change (a new password, the account's
    deletion), and one COMMIT stores it all: a failure anywhere leaves every
    session, subscription and password as it was. Only after the COMMIT does
    this browser sign out and do the user's sockets close. With `keep_current`,
    the login of this request survives.
    """
    current_id = None
    if current_user.is_authenticated and current_user.id == user_id:
        current_id = current_user.login_id
    ending = sa.delete(Login).where(Login.user_id == user_id)
    if keep_current and current_id is not None:
        ending = ending.where(Login.id != current_id)
    lock_users([user_id])
    db.session.execute(ending)
    devices.recount([user_id])
    yield
    db.session.commit()
    if current_id is not None and not keep_current:
        logout_user()
    # One read of who is online, however many logins the user piled up.
    kept = str(current_id) if keep_current else None
    push.disconnect(sid for sid, login in presence.store().logins_of(user_id) if login != kept)


def load(token: str) -> User | None:
    """Flask-Login's user loader: the user of a live login, or None (signed out)."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    row = db.session.execute(
        _live_login(), {"token_hash": _digest(token), "since": utcnow() - _lifetime()}
    ).first()
    if row is None:
        return None
    user, login_id = row
    user.login_token, user.login_id = token, login_id
    return user


@functools.cache
def _live_login() -> sa.Select[Any]:
    """Built once per process: every request runs it, and building a statement
    (its cache key included) costs twice as much CPU as running this one."""
    return (
        sa.select(User, Login.id)
        .join(Login, Login.user_id == User.id)
        .where(Login.token_hash == sa.bindparam("token_hash"),
               Login.created_at >= sa.bindparam("since"))
    )


def _digest(token: str) -> str:
    # Only a hash is stored: a copy of the table cannot be turned into cookies.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _lifetime() -> timedelta:
    """A login lives as long as its remember-me cookie could (Flask-Login's setting)."""
    lifetime = current_app.config.get("REMEMBER_COOKIE_DURATION", DEFAULT_LIFETIME)
    return lifetime if isinstance(lifetime, timedelta) else timedelta(seconds=lifetime)
