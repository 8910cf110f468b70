"""Register, log in, log out. Logging out also closes that session's sockets."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import (
    current_user,
    login_required,
    login_user,
    logout_user,
    user_loaded_from_cookie,
)
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from fitness_app.auth import bp
from fitness_app.auth.forms import LoginForm, RegisterForm
from fitness_app.extensions import db
from fitness_app.models import User
from fitness_app.realtime.push import disconnect_login


def safe_next(target: str | None) -> str:
    """Follow `next` only to a path on this site, never to another host."""
    if not target:
        return url_for("main.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("main.index")
    if "\\" in target:
        return url_for("main.index")
    return target


def start_session(user: User, remember: bool = False) -> None:
    """Log in and tag the session, so logout can find the sockets it opened."""
    login_user(user, remember=remember)
    session["login_id"] = secrets.token_urlsafe(16)


def render_form(template: str, form: object) -> tuple[str, int]:
    status = 400 if request.method == "POST" else 200
    return render_template(template, form=form), status


@bp.route("/register", methods=["GET", "POST"])
def register() -> Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        user = User(username=form.username.data, email=form.email.data)
        user.set_password(form.password.data)
        db.session.add(user)
        try:
            db.session.commit()
        except IntegrityError:
            # Another sign-up took the name between our check and our insert.
            db.session.rollback()
            form.email.errors.append("That email or username is already registered.")
            return render_form("auth/register.html", form)
        start_session(user)
        flash(f"Welcome, {user.username}!", "success")
        return redirect(url_for("main.index"))
    return render_form("auth/register.html", form)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        start_session(form.user, remember=form.remember.data)
        return redirect(safe_next(request.args.get("next")))
    return render_form("auth/login.html", form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    login_id = session.get("login_id", "")
    logout_user()
    session.pop("login_id", None)
    disconnect_login(login_id)
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@user_loaded_from_cookie.connect
def tag_remembered_session(sender: object, user: User) -> None:
    """A "remember me" login starts a new session; tag it like a password login."""
    session["login_id"] = secrets.token_urlsafe(16)
