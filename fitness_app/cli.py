"""`flask create-admin`, `flask announce` and `flask seed-demo` (`import-workouts` in imports/)."""

from __future__ import annotations

from datetime import timedelta

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext

from fitness_app.extensions import db
from fitness_app.models import User
from fitness_app.realtime import push
from fitness_app.services import preferences
from fitness_app.services.accounts import passwords
from fitness_app.services.notifications import badges, store
from fitness_app.services.push import fanout
from fitness_app.services.training import goals, workouts

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"


@click.command("create-admin")
@with_appcontext
@click.option("--email", prompt=True, help="The admin's email address.")
@click.option("--username", prompt=True, help="The admin's username.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_admin(email: str, username: str, password: str) -> None:
    """Create an admin, or make the user with this email an admin."""
    email = email.strip().lower()
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is not None:
        user.is_admin = True
        db.session.commit()
        click.echo(f"{user.username} <{email}> is now an admin.")
        return
    if len(password) < 8:
        raise click.BadParameter("use at least 8 characters", param_hint="--password")
    if db.session.scalar(sa.select(User.id).where(User.username == username)):
        raise click.BadParameter(f"username {username!r} is taken", param_hint="--username")
    user = User(username=username, email=email, is_admin=True,
                password_hash=passwords.hash_password(password))
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created admin {username} <{email}>.")


@click.command("announce")
@with_appcontext
@click.argument("text")
def announce(text: str) -> None:
    """Broadcast an announcement, exactly as the admin page does."""
    text = text.strip()
    if not 1 <= len(text) <= 500:
        raise click.BadParameter("an announcement has 1 to 500 characters", param_hint="TEXT")
    url = current_app.config.get("REDIS_URL")
    if url and _redis_answers(url, current_app.config["SOCKETIO_CHANNEL"]):
        with push.through_message_queue(url, current_app.config["SOCKETIO_CHANNEL"]):
            notification = store.announce(None, text)
            badges.refresh_online()
        click.echo(f"Announcement {notification.id} stored and sent live through {url}.")
        _wait_for_web_push()
        return
    notification = store.announce(None, text)
    _wait_for_web_push()
    if url:
        click.echo(
            f"Announcement {notification.id} stored, but Redis at {url} does not answer, so it "
            "could not be sent live: users get it in their inbox and on their next "
            "connection, and the servers resend it once they reach Redis again."
        )
    else:
        click.echo(
            f"Announcement {notification.id} stored. No message queue is configured, so no "
            "running server can be reached from here: users get it in their inbox and on "
            "their next connection. Set REDIS_URL to make it live."
        )


def _wait_for_web_push() -> None:
    """The pushes to devices leave from this process's threads: stay until they have."""
    sender = fanout.current()
    if not sender.wait_idle(timeout=600):
        click.echo("Web Push: still sending after 10 minutes; stopping here.")
    elif sender.counts["sent"]:
        click.echo(f"Pushed to {sender.counts['sent']} devices.")


def _redis_answers(url: str, channel: str) -> bool:
    """Whether the message queue is up; its publish would fail silently otherwise."""
    import redis

    from fitness_app.realtime.redis_client import connect

    try:
        return bool(connect(url, channel, socket_connect_timeout=2, socket_timeout=2).ping())
    except (redis.RedisError, OSError):
        return False


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Create a demo user with a week of workouts and two goals; print the login."""
    user = db.session.scalar(sa.select(User).where(User.email == DEMO_EMAIL))
    if user is None:
        user = User(username="demo", email=DEMO_EMAIL,
                    password_hash=passwords.hash_password(DEMO_PASSWORD))
        db.session.add(user)
        db.session.commit()
        today = preferences.user_today(user)
        for offset, (title, activity, minutes, km) in enumerate(
            [("Easy run", "run", 30, 5.0), ("Commute ride", "ride", 45, 15.0),
             ("Pool session", "swim", 40, 1.5), ("Evening yoga", "yoga", 25, None)]
        ):
            workouts.log_workout(
                user.id,
                workouts.WorkoutInput(title, activity, minutes, km, today - timedelta(days=offset)),
                completed=True,
            )
        workouts.log_workout(
            user.id,
            workouts.WorkoutInput("Long run", "run", 90, 18.0, today + timedelta(days=1)),
            completed=False,
        )
        goals.create_goal(user.id, "workouts", 5, "week")
        goals.create_goal(user.id, "distance_km", 100, "month")
    click.echo(f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")


def init_app(app: Flask) -> None:
    from fitness_app.imports.cli import import_workouts

    for command in (create_admin, announce, seed_demo, import_workouts):
        app.cli.add_command(command)
