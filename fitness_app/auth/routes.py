"""Register, sign in, sign out here or everywhere. Sessions live in services/accounts/logins.py."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from fitness_app.auth import bp
from fitness_app.auth.forms import LoginForm, RegisterForm
from fitness_app.extensions import db
from fitness_app.forms import render_form
from fitness_app.limits import failed_sign_ins, per_address
from fitness_app.models import User
from fitness_app.services import timezones
from fitness_app.services.accounts import logins, passwords
from fitness_app.urls import local_path


def safe_next() -> str:
    """Follow `next` only to a path on this site, never to another host."""
    return local_path(request.args.get("next")) or url_for("main.index")


@bp.route("/register", methods=["GET", "POST"])
@per_address("RATELIMIT_REGISTER")
def register() -> Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        password_hash = passwords.hash_password(form.password.data)
        user = User(
            username=form.username.data,
            email=form.email.data,
            password_hash=password_hash,
            timezone=timezones.clean_zone(form.timezone.data),
        )
        db.session.add(user)
        try:
            db.session.flush()
        except IntegrityError:
            # Another sign-up took the name between our check and our insert.
            db.session.rollback()
            form.email.errors.append("That email or username is already registered.")
            return render_form("auth/register.html", form)
        # The account and its first login commit together: a database lost in
        # between leaves neither, so the person can simply register again.
        logins.begin(user)
        flash(f"Welcome, {form.username.data}!", "success")
        return redirect(url_for("main.index"))
    return render_form("auth/register.html", form)


@bp.route("/login", methods=["GET", "POST"])
@failed_sign_ins("auth/login.html", LoginForm)
def login() -> Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(safe_next())
    form = LoginForm()
    if form.validate_on_submit():
        logins.begin(form.user, remember=form.remember.data)
        return redirect(safe_next())
    return render_form("auth/login.html", form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    logins.end_current()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/logout-everywhere", methods=["POST"])
@login_required
def logout_everywhere() -> Response:
    logins.end_all(current_user.id)
    flash("You are signed out on every device.", "info")
    return redirect(url_for("auth.login"))
