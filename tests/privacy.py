"""The cast and data of the privacy matrix (tests/test_privacy_matrix.py and
tests/test_privacy_events.py).

One owner and a viewer per relation to them, built once per module: their
follows and blocks written straight into the tables (tests/test_visibility.py
tests the rule itself), and everything of the owner's that a route can show,
each carrying a marker string that must never reach a viewer who may not see it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from fitness_app.extensions import db
from fitness_app.models import (
    Block,
    Comment,
    CommentReport,
    Follow,
    Goal,
    Kudos,
    Login,
    Notification,
    PushDevice,
    User,
    Workout,
    WorkoutImport,
    WorkoutTrack,
)
from fitness_app.services.imports.track import encoded_route
from tests import services
from tests.conftest import built_app, log_workout, signed_in_client
from tests.databases import PG_SKIP_REASON, database_url
from tests.social_rows import add_social_rows

LEVELS = ("private", "followers", "public")
# What each viewer sees of the owner's workouts, by visibility. The owner blocked
# `blocked`; `blocker` blocked the owner. Both also keep an accepted follow, as a
# row left behind would: blocking must win over it wherever a route reads follows.
SEES: dict[str, frozenset[str]] = {
    "owner": frozenset(LEVELS),
    "follower": frozenset({"followers", "public"}),
    "requester": frozenset({"public"}),  # asked to follow, not accepted yet
    "stranger": frozenset({"public"}),
    "blocked": frozenset(),
    "blocker": frozenset(),
    "admin": frozenset({"public"}),  # admins are not exempt from the rule
    "anonymous": frozenset(),
}
VIEWERS = tuple(SEES)
SIGNED_IN = tuple(v for v in VIEWERS if v != "anonymous")
OTHERS = tuple(v for v in VIEWERS if v != "owner")
# Signed in, and not the owner.
NON_OWNERS = tuple(v for v in SIGNED_IN if v != "owner")
MISSING_ID = 999_999
# Each of the owner's completed workouts has a route: its page draws it, the export has it.
ROUTE = encoded_route([(48.85, 2.35), (48.86, 2.36), (48.87, 2.35)])


def done_title(level: str) -> str:
    return f"Mx {level} done run"


def planned_title(level: str) -> str:
    return f"Mx {level} planned ride"


def comment_body(level: str) -> str:
    """The owner's comment on their own completed workout of `level`."""
    return f"Mx {level} owner comment"


@dataclass
class World:
    """The matrix's app, a signed-in client per viewer, and the owner's rows by kind."""

    app: Flask
    clients: dict[str, FlaskClient]
    ids: dict[str, int]
    done: dict[str, int] = field(default_factory=dict)
    planned: dict[str, int] = field(default_factory=dict)
    # Each workout of the owner's: its visibility.
    levels: dict[int, str] = field(default_factory=dict)
    # Strings only the owner's data holds, with the visibility of what holds them
    # (None: the owner's alone). None may reach a viewer the rule does not let see it.
    secrets: dict[str, str | None] = field(default_factory=dict)
    _spares: int = 0

    def request(self, viewer: str, method: str, path: str,
                data: dict[str, Any] | None = None) -> TestResponse:
        return self.clients[viewer].open(path, method=method, data=data)

    def leaked(self, viewer: str, text: str, sees: frozenset[str] | None = None) -> list[str]:
        """The owner's markers in `text` that `viewer` may not see (or that are not in `sees`)."""
        if viewer == "owner":
            return []
        sees = SEES.get(viewer, frozenset()) if sees is None else sees
        return [marker for marker, level in self.secrets.items()
                if marker in text and level not in sees]

    def unseen_workouts(self, viewer: str, workout_ids: Iterable[int]) -> list[int]:
        """Those of `workout_ids` that are the owner's and that `viewer` may not see."""
        if viewer == "owner":
            return []
        sees = SEES.get(viewer, frozenset())
        return [w for w in workout_ids if w in self.levels and self.levels[w] not in sees]

    def user_id(self, username: str) -> int:
        with self.app.app_context():
            return db.session.scalar(sa.select(User.id).where(User.username == username))

    def spare_workout(self, level: str, completed: bool = True, title: str = "") -> int:
        """A new workout of the owner's, for a test that changes or deletes one."""
        self._spares += 1
        title = title or f"Mx spare {self._spares} {level}"
        self.secrets[title] = level
        with self.app.app_context():
            workout = Workout(user_id=self.ids["owner"], title=title,
                              activity="run", duration_minutes=20, performed_on=date.today(),
                              visibility=level)
            if completed:
                workout.completed_at = sa.func.now()
            db.session.add(workout)
            db.session.commit()
            self.levels[workout.id] = level
            return workout.id

    def log_completed(self, level: str, title: str) -> int:
        """The owner logs a completed workout through the form, as the page does; its id."""
        self.secrets[title] = level
        assert log_workout(self.clients["owner"], title=title,
                           visibility=level).status_code == 302
        with self.app.app_context():
            workout_id = db.session.scalar(sa.select(Workout.id).where(Workout.title == title))
        self.levels[workout_id] = level
        return workout_id

    def spare_user(self) -> tuple[str, FlaskClient]:
        """A new signed-in user of no relation to anyone, for actions that end a session."""
        self._spares += 1
        name = f"spare{self._spares}"
        return name, signed_in_client(self.app, name)

    def block(self, blocker: str, blocked: str) -> None:
        with self.app.app_context():
            db.session.add(Block(blocker_id=self.user_id(blocker),
                                 blocked_id=self.user_id(blocked)))
            db.session.commit()

    def follow(self, follower: str, followee: str) -> None:
        """An accepted follow, written straight into its table."""
        add_social_rows(self.app, Follow(follower_id=self.user_id(follower),
                                         followee_id=self.user_id(followee), accepted=True))

    def pending_asker(self) -> str:
        """The username of a new user whose request to follow the owner waits for an answer."""
        name, _ = self.spare_user()
        add_social_rows(self.app,
                        Follow(follower_id=self.user_id(name), followee_id=self.ids["owner"]))
        return name

    def host_workout(self) -> int:
        """A new public workout of `host`, a user the others neither follow nor block."""
        with self.app.app_context():
            workout = Workout(user_id=self.ids["host"], title="Host's run", activity="run",
                              duration_minutes=20, performed_on=date.today(),
                              visibility="public", completed_at=sa.func.now())
            db.session.add(workout)
            db.session.commit()
            return workout.id

    def set_visibility(self, workout_id: int, level: str) -> None:
        """Change a workout's visibility, and so who may read its title from now on."""
        with self.app.app_context():
            title = db.session.scalar(sa.select(Workout.title).where(Workout.id == workout_id))
            db.session.execute(sa.update(Workout).where(Workout.id == workout_id)
                               .values(visibility=level))
            db.session.commit()
        self.levels[workout_id] = level
        self.secrets[title] = level

    def comment(self, author: str, workout_id: int, body: str = "") -> int:
        """A comment written straight into its table (and its workout's counter)."""
        self._spares += 1
        with self.app.app_context():
            comment = Comment(workout_id=workout_id, user_id=self.user_id(author),
                              body=body or f"Spare comment {self._spares}")
            db.session.add(comment)
            db.session.execute(sa.update(Workout).where(Workout.id == workout_id)
                               .values(comments_count=Workout.comments_count + 1))
            db.session.commit()
            return comment.id

    def kudos(self, giver: str, workout_id: int) -> None:
        """Kudos written straight into their table (and the workout's counter)."""
        with self.app.app_context():
            db.session.add(Kudos(workout_id=workout_id, user_id=self.user_id(giver)))
            db.session.execute(sa.update(Workout).where(Workout.id == workout_id)
                               .values(kudos_count=Workout.kudos_count + 1))
            db.session.commit()

    def reported_comment(self) -> int:
        """A comment on one of the owner's public workouts, reported by a stranger."""
        comment_id = self.comment("owner", self.done["public"])
        with self.app.app_context():
            db.session.add(CommentReport(comment_id=comment_id,
                                         reporter_id=self.ids["stranger"]))
            db.session.commit()
        return comment_id

    def owner_goal(self) -> int:
        with self.app.app_context():
            goal = Goal(user_id=self.ids["owner"], kind="workouts", target=5, period="week")
            db.session.add(goal)
            db.session.commit()
            return goal.id

    def owner_import(self) -> int:
        with self.app.app_context():
            job = WorkoutImport(user_id=self.ids["owner"], filename="mx-owner-upload.gpx",
                                status="done")
            db.session.add(job)
            db.session.commit()
            return job.id

    def owner_device(self) -> str:
        with self.app.app_context():
            login_id = db.session.scalar(
                sa.select(Login.id).where(Login.user_id == self.ids["owner"]).limit(1))
            device = PushDevice(id=secrets.token_urlsafe(16), user_id=self.ids["owner"],
                                login_id=login_id,
                                endpoint=f"https://push.example.com/{secrets.token_hex(8)}",
                                p256dh="x", auth="y", browser="Mx owner browser")
            db.session.add(device)
            db.session.commit()
            return device.id

    def owner_notification(self) -> int:
        with self.app.app_context():
            return db.session.scalar(
                sa.select(sa.func.max(Notification.id))
                .where(Notification.user_id == self.ids["owner"]))


def build_world(app: Flask) -> World:
    """Sign everyone up, log the owner's workouts, write the follows and blocks."""
    clients = {name: signed_in_client(app, name, admin=name == "admin")
               for name in SIGNED_IN}
    clients["anonymous"] = app.test_client()
    clients["host"] = signed_in_client(app, "host")
    for client in clients.values():
        client.get("/workouts/")  # reads the welcome message, so pages compare equal
    world = World(app, clients, {})
    world.ids = {name: world.user_id(name) for name in (*SIGNED_IN, "host")}
    owner = clients["owner"]
    for level in LEVELS:
        assert log_workout(owner, title=done_title(level), visibility=level).status_code == 302
        assert log_workout(owner, title=planned_title(level), visibility=level,
                           completed=None).status_code == 302
        world.secrets |= {done_title(level): level, planned_title(level): level,
                          comment_body(level): level}
    owner.get("/workouts/")
    world.secrets |= {"mx-owner-upload.gpx": None, "Mx owner browser": None}
    ids = world.ids
    with app.app_context():
        for title, workout_id, completed in db.session.execute(
                sa.select(Workout.title, Workout.id, Workout.completed_at.is_not(None))):
            level = title.split()[1]
            (world.done if completed else world.planned)[level] = workout_id
            world.levels[workout_id] = level
    add_social_rows(
        app,
        Follow(follower_id=ids["follower"], followee_id=ids["owner"], accepted=True),
        Follow(follower_id=ids["requester"], followee_id=ids["owner"], accepted=False),
        Follow(follower_id=ids["blocked"], followee_id=ids["owner"], accepted=True),
        Follow(follower_id=ids["blocker"], followee_id=ids["owner"], accepted=True),
        Block(blocker_id=ids["owner"], blocked_id=ids["blocked"]),
        Block(blocker_id=ids["blocker"], blocked_id=ids["owner"]),
        *(WorkoutTrack(workout_id=world.done[level], user_id=ids["owner"],
                       started_at=datetime.now(UTC), duration_seconds=1800,
                       elevation_gain_m=12.0, route=ROUTE, points=3)
          for level in LEVELS),
    )
    for level in LEVELS:
        world.comment("owner", world.done[level], comment_body(level))
    return world


@contextmanager
def matrix_world(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The cast and their data on a fresh database of `kind`, for one test module."""
    if kind == "postgresql":
        services.require("PostgreSQL", PG_SKIP_REASON)
    with database_url(kind, tmp_path_factory.mktemp("matrix")) as url:
        with built_app(url) as app:
            yield build_world(app)
