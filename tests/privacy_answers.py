"""What the privacy matrix reads in an answer: its status, its body (CSRF tokens aside),
the markers it shows, and whether the database changed under it."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask import Flask
from werkzeug.test import TestResponse

from fitness_app.extensions import db
from tests.privacy import World

_TOKEN = re.compile(r'((?:name="csrf-token" content|name="csrf_token" type="hidden" value'
                    r'|type="hidden" name="csrf_token" value)=")[^"]*')
Problems = list[str]


def without_tokens(page: str) -> str:
    """The page without its CSRF tokens: they carry the second they were made in."""
    return _TOKEN.sub(r"\1", page)


def fingerprint(app: Flask, leave_out_user: int | None = None) -> dict[str, list[tuple]]:
    """Every row of every table, as text, but those of `leave_out_user` (by any user column).

    Two equal fingerprints around a request mean it changed nothing, or
    nothing but that user's own rows.
    """
    seen: dict[str, list[tuple]] = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            user_columns = [c for c in table.columns
                            if any(fk.column.table.name == "users" for fk in c.foreign_keys)
                            or (table.name == "users" and c.name == "id")]
            query = sa.select(table)
            if leave_out_user is not None:
                for column in user_columns:
                    query = query.where(sa.or_(column.is_(None), column != leave_out_user))
            rows = db.session.execute(query).all()
            seen[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return seen


def changed_tables(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


def signed_out(world: World, method: str, real: str, missing: str,
                data: dict[str, Any] | None) -> Problems:
    """A signed-out visitor is sent to sign in (or gets 401), whether the thing exists or not."""
    before = fingerprint(world.app)
    seen = world.request("anonymous", method, real, data)
    changed = changed_tables(before, fingerprint(world.app))
    gone = world.request("anonymous", method, missing, data)
    problems = []
    if seen.status_code not in (302, 401) or seen.status_code != gone.status_code:
        problems.append(f"anonymous {method} {real}: {seen.status_code}, "
                        f"a missing one {gone.status_code}")
    elif seen.status_code == 302 and not seen.location.startswith("/auth/login"):
        problems.append(f"anonymous {method} {real}: sent to {seen.location}")
    if leaks := world.leaked("anonymous", seen.get_data(as_text=True)):
        problems.append(f"anonymous {method} {real}: shows {leaks}")
    if changed:
        problems.append(f"anonymous {method} {real}: changed {changed}")
    return problems


def like_missing(world: World, viewer: str, method: str, real: str, missing: str,
                  data: dict[str, Any] | None = None, missing_data: dict | None = None
                  ) -> Problems:
    """`viewer` gets the very answer a missing id gets (CSRF tokens aside), and changes nothing."""
    where = f"{viewer} {method} {real}"
    before = fingerprint(world.app)
    seen = world.request(viewer, method, real, data)
    changed = changed_tables(before, fingerprint(world.app))
    gone = world.request(viewer, method, missing, data if missing_data is None else missing_data)
    problems = []
    if seen.status_code != 404:
        problems.append(f"{where}: {seen.status_code}, not 404")
    elif without_tokens(seen.get_data(as_text=True)) != without_tokens(gone.get_data(as_text=True)):
        problems.append(f"{where}: its 404 differs from a missing one's")
    if leaks := world.leaked(viewer, seen.get_data(as_text=True)):
        problems.append(f"{where}: shows {leaks}")
    if changed:
        problems.append(f"{where}: changed {changed}")
    return problems


def allowed(world: World, viewer: str, method: str, path: str, data: dict[str, Any] | None,
             ok: tuple[int, ...], sees: frozenset[str] | None = None
             ) -> tuple[Problems, TestResponse]:
    """`viewer` gets an `ok` answer showing nothing beyond what they see (`sees`: narrower)."""
    response = world.request(viewer, method, path, data)
    if method != "GET":
        world.request(viewer, "GET", "/workouts/")  # reads its flash message
    problems = []
    if response.status_code not in ok:
        problems.append(f"{viewer} {method} {path}: {response.status_code}, not one of {ok}")
    if leaks := world.leaked(viewer, response.get_data(as_text=True), sees):
        problems.append(f"{viewer} {method} {path}: shows {leaks}")
    return problems, response
