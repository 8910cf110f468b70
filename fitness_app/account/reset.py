"""/auth/reset and /auth/reset/<token>: a forgotten password, by email."""

from __future__ import annotations

import hashlib

from flask import Response, current_app, flash, redirect, render_template, request, url_for

from fitness_app.account import reset_bp
from fitness_app.account.forms import NewPasswordForm, ResetRequestForm
from fitness_app.extensions import limiter
from fitness_app.forms import render_form
from fitness_app.limits import per_address
from fitness_app.services.accounts import lifecycle


def _requested_address() -> str:
    # Hashed: the addresses strangers type need not sit in the limiter's store.
    email = request.form.get("email", "").strip().lower()
    return "reset:" + hashlib.sha256(email.encode()).hexdigest()[:32]


@reset_bp.route("/reset", methods=["GET", "POST"])
@per_address("RATELIMIT_RESET")
@limiter.limit(
    lambda: current_app.config["RATELIMIT_RESET_EMAIL"],
    key_func=_requested_address,
    methods=["POST"],
    scope="RATELIMIT_RESET_EMAIL",
    error_message="Too many links were asked for that address. "
    "Use one that arrived, or try again later.",
)
def request_reset() -> str | tuple[str, int]:
    """The same page, after the same work, whether or not the address has an account."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        lifecycle.request_reset(form.email.data)
        return render_template("account/reset_sent.html", email=form.email.data)
    return render_form("account/reset_request.html", form)


@reset_bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response | tuple[str, int]:
    try:
        user = lifecycle.user_for_reset_token(token)
    except lifecycle.InvalidResetLink as error:
        return render_template("account/reset_invalid.html", expired=error.expired), 400
    form = NewPasswordForm()
    if form.validate_on_submit():
        lifecycle.reset_password(user, form.password.data)
        flash("Your new password is set and you are signed in. "
              "Every other session has ended.", "success")
        return redirect(url_for("main.index"))
    return render_form("account/reset_password.html", form)


@reset_bp.after_request
def keep_tokens_private(response: Response) -> Response:
    """A reset link is a key: no cache keeps its page, no Referer carries it away."""
    if request.endpoint == "account_reset.reset_password":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response
