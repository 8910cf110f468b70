"""Security headers on every response, and no inline script anywhere a policy would block."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests

from tests.conftest import built_app, log_workout, make_admin

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# Headers are the same whatever the database holds.
sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


class InlineScript(HTMLParser):
    """Collects inline <script> bodies and on* handler attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, _ in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
        if tag == "script":
            self._in_inline_script = not dict(attrs).get("src")

    def handle_data(self, data: str) -> None:
        if self._in_inline_script and data.strip():
            self.found.append(f"<script>{data.strip()[:40]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False


def inline_scripts(html: str) -> list[str]:
    parser = InlineScript()
    parser.feed(html)
    return parser.found


def directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def assert_secure(response, path: str) -> None:
    csp = directives(response)
    assert csp["script-src"] == ["'self'"], path
    assert csp["frame-ancestors"] == ["'none'"], path
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"], path
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"], path
    assert response.headers["X-Content-Type-Options"] == "nosniff", path
    assert response.headers["X-Frame-Options"] == "DENY", path
    assert response.headers["Referrer-Policy"] == "same-origin", path


@sqlite_only
def test_every_page_carries_the_headers_and_no_inline_script(app, auth, client):
    auth.register()
    make_admin(app, "ann@example.com")
    log_workout(client, completed=None)
    pages = ["/", "/workouts/", "/workouts/new", "/workouts/1/edit", "/goals/", "/goals/new",
             "/notifications/", "/admin/", "/workouts/999/edit", "/healthz",
             "/api/notifications", "/static/css/app.css"]
    for path in pages:
        response = client.get(path)
        assert_secure(response, path)
        if response.mimetype == "text/html":
            assert inline_scripts(response.get_data(as_text=True)) == [], path
    assert 'data-confirm="Delete the workout' in client.get("/workouts/").get_data(
        as_text=True)
    for response in (client.post("/workouts/new"), client.post("/goals/1/delete"),
                     app.test_client().get("/auth/login"), app.test_client().get("/")):
        assert_secure(response, response.request.path)


def test_no_template_has_an_inline_handler_or_script():
    for template in TEMPLATES.rglob("*.html"):
        found = inline_scripts(template.read_text())
        assert found == [], f"{template.relative_to(TEMPLATES)}: {found}"


@sqlite_only
def test_connect_src_allows_this_hosts_socket_over_ws_or_wss(database):
    with built_app(database, TRUSTED_PROXIES=1) as app:
        client = app.test_client()
        plain = directives(client.get("/auth/login"))["connect-src"]
        assert plain == ["'self'", "ws://localhost"]
        tls = directives(client.get("/auth/login", headers={"X-Forwarded-Proto": "https"}))
        assert tls["connect-src"] == ["'self'", "wss://localhost"]
        odd = client.get("/auth/login", headers={"Host": "evil; script-src *"})
        assert directives(odd)["script-src"] == ["'self'"]


@sqlite_only
def test_hsts_only_in_production(database, client):
    assert "Strict-Transport-Security" not in client.get("/auth/login").headers
    with built_app(database) as app:
        app.config["HSTS_SECONDS"] = 0
        assert "Strict-Transport-Security" not in app.test_client().get("/auth/login").headers
    from fitness_app import create_app

    production = create_app("production", {
        "SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": "x" * 32,
        "ASYNC_MODE": "threading", "REDIS_URL": None,
    })
    hsts = production.test_client().get("/auth/login").headers["Strict-Transport-Security"]
    assert hsts.startswith("max-age=31536000")


@pytest.mark.live
def test_the_live_server_sends_the_headers(live_server):
    response = requests.get(f"{live_server.url}/auth/login", timeout=5)
    assert_secure(response, "/auth/login")
    assert f"ws://127.0.0.1:{live_server.port}" in directives(response)["connect-src"]
