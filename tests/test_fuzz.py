"""Nothing a client sends gets a 500, and a refused request changes no stored data.

Hypothesis sends generated requests to every route of the app (taken from its
URL map, so a new route is covered the day it lands): any method the route
takes, URL segments and query values from ids to 400-digit numbers and odd
Unicode, and bodies as forms, multipart with files, JSON of any shape, plain
text or bytes under any content type. It does so as a visitor, as a signed-in
user and as an admin, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import io
import json
import os
import re
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fitness_app.extensions import db
from tests.conftest import AuthActions, log_workout, make_admin

# Each role on each database; together a few hundred requests, a few seconds.
# FUZZ_EXAMPLES=5000 for a deeper search.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
# These end the client's own session when they succeed; tests/test_logins.py
# covers them, and fuzzing them would leave the remaining examples anonymous.
SESSION_ENDING = {"auth.logout", "auth.logout_everywhere"}
FIELD_NAMES = [
    "csrf_token", "title", "activity", "duration_minutes", "distance_km", "performed_on",
    "completed", "kind", "target", "period", "message", "username", "email", "password",
    "confirm", "remember", "timezone", "current_password",
]
QUERY_NAMES = ["page", "after", "next", "before"]
ARGUMENT = re.compile(r"<[^>]+>")

huge = st.integers(min_value=2**31 - 2, max_value=10**400).map(str)
numbers = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    huge,
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "-inf", "1e400", "²", "١٢", "0x10", " 7 ", "", "-0", "2147483648",
                     "9223372036854775808", "99999999999999999999", "1" * 400]),
)
texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.sampled_from([
        "\x00", "a\x00b", "run", "week", "workouts", "y", "2024-02-30", "9999-12-31",
        "ann@example.com", "/\t/evil.example", "//evil.example", "https://evil.example/",
        "/\\evil.example", "javascript:alert(1)", "x" * 600, "<script>alert(1)</script>",
    ]),
)
values = st.one_of(numbers, texts)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**400),
              st.floats(), st.text(max_size=20)),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(FIELD_NAMES), children, max_size=4),
    ),
    max_leaves=8,
)
field_names = st.one_of(st.sampled_from(FIELD_NAMES), st.text(min_size=1, max_size=10))


@st.composite
def bodies(draw) -> dict:
    """Keyword arguments for the test client's `open`: a body and its content type."""
    kind = draw(st.sampled_from(["none", "form", "multipart", "json", "text", "bytes"]))
    if kind == "none":
        return {}
    if kind == "form":
        return {"data": draw(st.dictionaries(field_names, values, max_size=8))}
    if kind == "multipart":
        data = {}
        for name in draw(st.lists(field_names, max_size=6, unique=True)):
            if draw(st.booleans()):
                data[name] = (io.BytesIO(draw(st.binary(max_size=64))), draw(texts) or "f")
            else:
                data[name] = draw(values)
        return {"data": data, "content_type": "multipart/form-data"}
    if kind == "json":
        return {"data": json.dumps(draw(json_values)), "content_type": "application/json"}
    if kind == "text":
        return {"data": draw(texts).encode("utf-8", "surrogatepass"),
                "content_type": draw(st.sampled_from(
                    ["text/plain", "application/x-www-form-urlencoded", "application/xml"]))}
    return {"data": draw(st.binary(max_size=200)),
            # No control characters: no HTTP client can send them in a header.
            "content_type": draw(st.one_of(st.text(st.characters(exclude_categories=["Cc"]),
                                                   max_size=30), st.sampled_from(
                ["multipart/form-data", "multipart/form-data; boundary=x",
                 "application/x-www-form-urlencoded; charset=latin-7"])))}


def snapshot() -> dict[str, list]:
    """Every stored row of every table, in a stable order."""
    rows = {}
    for table in db.metadata.sorted_tables:
        rows[table.name] = [tuple(row) for row in db.session.execute(
            sa.select(table).order_by(*table.primary_key.columns))]
    db.session.rollback()
    return rows


def routes(app: Flask) -> list[tuple[str, list[str]]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint in SESSION_ENDING:
            continue
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        found.append((rule.rule, methods))
    return sorted(found)


def seeded_client(app: Flask, role: str) -> FlaskClient | None:
    """A signed-in client with a workout, a goal and notifications to point ids at."""
    client = app.test_client()
    auth = AuthActions(client)
    auth.register()
    if role == "admin":
        make_admin(app, "ann@example.com")
    log_workout(client)
    log_workout(client, completed=None)
    client.post("/goals/new", data={"kind": "workouts", "target": "1", "period": "week"})
    AuthActions(app.test_client()).register(username="bob", email="bob@example.com")
    return None if role == "anonymous" else client


@pytest.mark.parametrize("role", ["anonymous", "user", "admin"])
def test_no_request_gets_a_500_or_changes_data_when_refused(app, role):
    signed_in = seeded_client(app, role)
    targets = routes(app)
    segments = st.one_of(st.integers(min_value=0, max_value=6).map(str), numbers, texts)

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(
        target=st.sampled_from(targets),
        data=st.data(),
        query=st.dictionaries(st.one_of(st.sampled_from(QUERY_NAMES), st.text(max_size=8)),
                              values, max_size=3),
        body=bodies(),
    )
    def probe(target, data, query, body) -> None:
        rule, methods = target
        method = data.draw(st.sampled_from(methods))
        path = ARGUMENT.sub(lambda _: quote(data.draw(segments), safe=""), rule)
        client = signed_in or app.test_client()
        with app.app_context():
            before = snapshot()
        response = client.open(path, method=method, query_string=query,
                               **(body if method != "GET" else {}))
        status = response.status_code
        assert status < 500, f"{method} {path} {query} {body}: {status}"
        if status >= 400:
            with app.app_context():
                assert snapshot() == before, f"{method} {path} changed data and said {status}"

    probe()
