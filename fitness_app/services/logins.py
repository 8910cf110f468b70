# SCRATCH SHIM - not to be committed (i10 owns this file)
import secrets

from flask import session
from flask_login import login_user, logout_user

from fitness_app.extensions import socketio
from fitness_app.realtime import presence


def begin(user, remember=False):
    login_user(user, remember=remember)
    session["login_id"] = secrets.token_urlsafe(16)


def end_current():
    logout_user()


def end_all(user_id, *, keep_current=False):
    current = session.get("login_id")
    for sid, uid, login in presence.store()._sid_entries():
        if uid == user_id and not (keep_current and login == current):
            socketio.server.disconnect(sid, namespace="/")
    if not keep_current:
        logout_user()
