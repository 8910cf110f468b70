"""Request limits per client address, through Flask-Limiter.

Counts live in memory with one process and in Redis when REDIS_URL is set, so
every worker sees the same counts. Behind nginx the address is the client's
only because ProxyFix (fitness_app/proxies.py) restores it.

- Sign-in: failed attempts only (a 400 answer), per email and address and per
  address. A successful sign-in is never counted; once over the limit, the
  password is not even checked, so a guess cannot succeed either.
- Registration and reset requests: every POST per address, by the settings
  RATELIMIT_REGISTER and RATELIMIT_RESET.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, make_response, render_template, request
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address
from flask_login import current_user
from werkzeug.wrappers import Response

from fitness_app.extensions import limiter

FAILED = 400


def init_app(app: Flask) -> None:
    config = app.config
    config["RATELIMIT_STORAGE_URI"] = (
        config.get("RATELIMIT_STORAGE_URI") or config.get("REDIS_URL") or "memory://"
    )
    # Deployments (and test runs) sharing one Redis keep their counts apart.
    config.setdefault("RATELIMIT_KEY_PREFIX", f"fitness:{config['SOCKETIO_CHANNEL']}:limits")
    limiter.init_app(app)


def per_address(setting: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Limit a view's POSTs per client address by the Flask-Limiter string in `setting`.

    `@per_address("RATELIMIT_RESET")` on the reset-request view, for example.
    """
    return limiter.limit(
        lambda: current_app.config[setting],
        key_func=get_remote_address,
        methods=["POST"],
        on_breach=_too_many("Too many attempts from your network."),
    )


def per_user(setting: str, message: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Limit a view's POSTs per signed-in user (per address for anyone else) by `setting`."""
    return limiter.limit(
        lambda: current_app.config[setting],
        key_func=_user_or_address,
        methods=["POST"],
        scope=setting,
        on_breach=_too_many(message),
    )


def _user_or_address() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


def failed_sign_ins(template: str, form_class: type) -> Callable[..., Any]:
    """Limit a sign-in view's failed POSTs; over the limit, the form says when to retry."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        on_breach = _form_too_many(template, form_class)
        for setting, key in (("RATELIMIT_LOGIN_EMAIL", _email_and_address),
                             ("RATELIMIT_LOGIN_ADDRESS", get_remote_address)):
            view = limiter.limit(
                lambda setting=setting: current_app.config[setting],
                key_func=key,
                methods=["POST"],
                deduct_when=lambda response: response.status_code == FAILED,
                on_breach=on_breach,
                scope=setting,
            )(view)
        return view

    return decorate


def _email_and_address() -> str:
    # Hashed: raw addresses of strangers need not sit in Redis.
    email = request.form.get("email", "").strip().lower()
    return f"{get_remote_address()}:{hashlib.sha256(email.encode()).hexdigest()[:32]}"


def _seconds_left(limit: RequestLimit) -> int:
    # reset_at is whole seconds; never promise more than the window itself.
    left = math.ceil(limit.reset_at - time.time())
    return max(1, min(left, limit.limit.get_expiry()))


def _in_words(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return "in a minute" if minutes <= 1 else f"in {minutes} minutes"


def _form_too_many(template: str, form_class: type) -> Callable[[RequestLimit], Response]:
    def respond(limit: RequestLimit) -> Response:
        seconds = _seconds_left(limit)
        form = form_class()
        form.password.errors = [
            f"Too many failed sign-ins. Try again {_in_words(seconds)}."
        ]
        response = make_response(render_template(template, form=form), 429)
        response.headers["Retry-After"] = str(seconds)
        return response

    return respond


def _too_many(message: str) -> Callable[[RequestLimit], Response]:
    def respond(limit: RequestLimit) -> Response:
        seconds = _seconds_left(limit)
        response = make_response(
            render_template("errors/generic.html", status=429,
                            message=f"{message} Try again {_in_words(seconds)}."),
            429,
        )
        response.headers["Retry-After"] = str(seconds)
        return response

    return respond
