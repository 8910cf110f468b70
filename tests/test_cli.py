"""The `flask` commands: create-admin, announce, seed-demo."""

from __future__ import annotations

import pytest

from fitness_app.extensions import db
from fitness_app.models import Notification, User


def users(app) -> dict[str, bool]:
    with app.app_context():
        return {u.email: u.is_admin for u in db.session.scalars(db.select(User))}


def test_create_admin_with_options(runner, app):
    result = runner.invoke(
        args=["create-admin", "--email", "Boss@Example.com", "--username", "boss",
              "--password", "password1"]
    )
    assert result.exit_code == 0, result.output
    assert "Created admin boss <boss@example.com>." in result.output
    assert users(app) == {"boss@example.com": True}


def test_create_admin_prompts_for_missing_values(runner, app):
    result = runner.invoke(
        args=["create-admin", "--email", "boss@example.com"],
        input="boss\npassword1\npassword1\n",
    )
    assert result.exit_code == 0, result.output
    assert "Username:" in result.output and "Password:" in result.output
    assert users(app) == {"boss@example.com": True}


def test_create_admin_promotes_an_existing_user(runner, app, auth):
    auth.register()
    assert users(app) == {"ann@example.com": False}
    result = runner.invoke(
        args=["create-admin", "--email", "ann@example.com", "--username", "ann",
              "--password", "ignored-pw"]
    )
    assert result.exit_code == 0, result.output
    assert "ann <ann@example.com> is now an admin." in result.output
    assert users(app) == {"ann@example.com": True}


@pytest.mark.one_database
def test_create_admin_refuses_a_short_password(runner, app):
    result = runner.invoke(
        args=["create-admin", "--email", "b@example.com", "--username", "b", "--password", "x"]
    )
    assert result.exit_code == 2
    assert "use at least 8 characters" in result.output
    assert users(app) == {}


def test_announce_without_queue_stores_and_explains(runner, app):
    result = runner.invoke(args=["announce", "Gym closed on Friday"])
    assert result.exit_code == 0, result.output
    assert "Set REDIS_URL to make it live." in result.output
    with app.app_context():
        [note] = db.session.scalars(db.select(Notification))
        assert (note.user_id, note.kind, note.message) == (None, "announcement",
                                                           "Gym closed on Friday")


@pytest.mark.one_database
def test_announce_refuses_empty_text(runner, app):
    result = runner.invoke(args=["announce", "   "])
    assert result.exit_code == 2
    assert "1 to 500 characters" in result.output


def test_seed_demo_prints_the_login_and_is_repeatable(runner, app, client):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "Demo login: demo@example.com / demo-password" in first.output
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    client.post("/auth/login", data={"email": "demo@example.com", "password": "demo-password"})
    page = client.get("/").data.decode()
    assert "Easy run" in page and "5 workouts this week" in page


def test_announce_with_redis_down_stores_and_says_so(runner, app):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    result = runner.invoke(args=["announce", "Pool closed"])
    assert result.exit_code == 0, result.output
    assert "does not answer, so it could not be sent live" in result.output
    with app.app_context():
        assert db.session.scalar(db.select(Notification.message)) == "Pool closed"
