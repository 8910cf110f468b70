"""/settings/password, /settings/export and /settings/delete.

The forms also sit on the /settings/ page (templates/settings/_account.html);
a form that fails comes back on its own page here, with status 400.
"""

from __future__ import annotations

from flask import Response, current_app, flash, redirect, request, stream_with_context, url_for
from flask_login import current_user, login_required

from fitness_app.account import bp
from fitness_app.account.forms import ChangePasswordForm, DeleteAccountForm
from fitness_app.extensions import limiter
from fitness_app.forms import render_form
from fitness_app.models import utcnow
from fitness_app.services.accounts import export, lifecycle


def _account_key() -> str:
    # The limit is checked before login_required has turned anonymous visitors away.
    return f"account:{current_user.id}" if current_user.is_authenticated else request.remote_addr


# A signed-in session, stolen or left open, must not be a way to guess the
# password: wrong ones on both forms count together, like failed sign-ins.
wrong_password_limit = limiter.shared_limit(
    lambda: current_app.config["RATELIMIT_LOGIN_EMAIL"],
    scope="account-password-checks",
    key_func=_account_key,
    methods=["POST"],
    deduct_when=lambda response: response.status_code == 400,
    error_message="Too many wrong passwords. Try again later.",
)


@bp.route("/password", methods=["GET", "POST"])
@wrong_password_limit
@login_required
def change_password() -> Response | tuple[str, int]:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        lifecycle.set_password(current_user, form.password.data, keep_current=True)
        flash("Your password is changed. Every other device is signed out.", "success")
        return redirect(url_for("settings.index"))
    return render_form("account/password.html", form)


@bp.get("/export")
@login_required
def export_data() -> Response:
    """A download that is written while it is read: see services/accounts/export.py."""
    now = utcnow()
    filename = f"fitness_app-export-{now:%Y-%m-%d}.json"
    return Response(
        stream_with_context(export.stream(current_user.id, now)),
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/delete", methods=["GET", "POST"])
@wrong_password_limit
@login_required
def delete_account() -> Response | tuple[str, int]:
    form = DeleteAccountForm()
    if form.validate_on_submit():
        lifecycle.delete_account(current_user)
        flash("Your account and everything in it are deleted. Goodbye!", "info")
        return redirect(url_for("auth.login"))
    return render_form("account/delete.html", form)
