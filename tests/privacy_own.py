"""The matrix's classes of routes about one's own data, of public pages, and of admins' pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.privacy import (
    MISSING_ID,
    NON_OWNERS,
    OTHERS,
    VIEWERS,
    World,
)
from tests.privacy_answers import (
    Problems,
    allowed,
    changed_tables,
    fingerprint,
    like_missing,
    signed_out,
)


@dataclass(frozen=True)
class OwnersRow:
    """Acts on one of the user's own rows by id: another user's id is a 404, as a missing one.

    `make` gives a new row of the owner's; `{id}` in the path (or in `data`)
    names it; `missing` is an id of the right shape that names nothing.
    """

    path: str
    make: Callable[[World], Any]
    data: dict[str, str] | None = None
    missing: str = str(MISSING_ID)

    def _at(self, row_id: Any) -> tuple[str, dict[str, str] | None]:
        data = None if self.data is None else {
            key: value.format(id=row_id) for key, value in self.data.items()}
        return self.path.format(id=row_id), data

    def check(self, world: World, method: str) -> Problems:
        real, data = self._at(self.make(world))
        missing, missing_data = self._at(self.missing)
        problems = signed_out(world, method, real, missing, data)
        for viewer in NON_OWNERS:
            problems += like_missing(world, viewer, method, real, missing, data, missing_data)
        real, data = self._at(self.make(world))
        problems += allowed(world, "owner", method, real, data, (200, 204, 302))[0]
        world.clients["owner"].get("/workouts/")
        return problems


@dataclass(frozen=True)
class OwnPage:
    """Shows the signed-in user's own data only (no id in the path): nobody else's leaks in."""

    path: str
    signed_out: tuple[int, ...] = (302,)

    def check(self, world: World, method: str) -> Problems:
        problems: Problems = []
        for viewer in VIEWERS:
            if viewer == "anonymous":
                answer = world.request(viewer, method, self.path)
                if answer.status_code not in self.signed_out or world.leaked(
                        viewer, answer.get_data(as_text=True)):
                    problems.append(f"anonymous {method} {self.path}: {answer.status_code}")
                continue
            problems += allowed(world, viewer, method, self.path, None, (200,))[0]
        return problems


@dataclass(frozen=True)
class OwnAction:
    """Changes the signed-in user's own data only (no id to name another's).

    Done by a new user of no relation to anyone (it may end their session or
    account): no row of anyone else changes, and the answer shows nothing of theirs.
    """

    path: str
    data: dict[str, str] | None = None
    ok: tuple[int, ...] = (200, 204, 302, 303, 400)
    signed_out: tuple[int, ...] = (302,)

    def check(self, world: World, method: str) -> Problems:
        problems: Problems = []
        before = fingerprint(world.app)
        answer = world.request("anonymous", method, self.path, self.data)
        if answer.status_code not in self.signed_out:
            problems.append(f"anonymous {method} {self.path}: {answer.status_code}")
        if changed := changed_tables(before, fingerprint(world.app)):
            problems.append(f"anonymous {method} {self.path}: changed {changed}")
        name, client = world.spare_user()
        world.clients[name] = client
        actor = world.user_id(name)
        before = fingerprint(world.app, leave_out_user=actor)
        problems += allowed(world, name, method, self.path, self.data, self.ok)[0]
        if changed := changed_tables(before, fingerprint(world.app, leave_out_user=actor)):
            problems.append(f"{name} {method} {self.path}: changed others' {changed}")
        return problems


@dataclass(frozen=True)
class Public:
    """Holds no one's private data (static files, health, sign-in pages): no marker in it."""

    path: str
    data: dict[str, str] | None = None

    def check(self, world: World, method: str) -> Problems:
        problems: Problems = []
        for viewer in OTHERS:
            answer = world.request(viewer, method, self.path, self.data)
            if answer.status_code >= 500:
                problems.append(f"{viewer} {method} {self.path}: {answer.status_code}")
            if leaks := world.leaked(viewer, answer.get_data(as_text=True)):
                problems.append(f"{viewer} {method} {self.path}: shows {leaks}")
        return problems


@dataclass(frozen=True)
class AdminOnly:
    """For admins only: 403 to any other signed-in user, the sign-in page to a visitor.

    `make` gives the id that `{id}` in the path names (a reported comment).
    """

    path: str
    data: dict[str, str] | None = None
    ok: tuple[int, ...] = (200, 302, 303)
    make: Callable[[World], Any] | None = None

    def check(self, world: World, method: str) -> Problems:
        problems: Problems = []
        path = self.path if self.make is None else self.path.format(id=self.make(world))
        for viewer in VIEWERS:
            before = fingerprint(world.app)
            answer = world.request(viewer, method, path, self.data)
            changed = changed_tables(before, fingerprint(world.app))
            expected = {"admin": self.ok, "anonymous": (302,)}.get(viewer, (403,))
            if answer.status_code not in expected:
                problems.append(f"{viewer} {method} {path}: {answer.status_code}")
            if viewer != "admin" and changed:
                problems.append(f"{viewer} {method} {path}: changed {changed}")
            if leaks := world.leaked(viewer, answer.get_data(as_text=True)):
                problems.append(f"{viewer} {method} {path}: shows {leaks}")
        return problems
