"""Password reset on the real server (`make run`, eventlet): by console, and by SMTP."""

from __future__ import annotations

import json
import re

import pytest
import requests

from deploy.processes import wait_until
from tests.live import LiveServer, csrf_token, post_form, register
from tests.sio_client import Listener
from tests.smtp import LINK, smtp_server

pytestmark = pytest.mark.live


def _set_new_password(base: str, link: str, password: str) -> requests.Session:
    browser = requests.Session()
    token = csrf_token(browser, link)
    response = browser.post(link, data={"csrf_token": token, "password": password,
                                        "confirm": password}, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:500]
    return browser


def test_without_a_mail_server_the_link_is_in_make_runs_output(live_server):
    base = live_server.url
    old_session = register(base, "liveforgetful")
    socket = Listener(base, old_session, ["websocket"]).connect()
    stranger = requests.Session()
    response = post_form(stranger, base, "/auth/reset", "/auth/reset",
                         {"email": "liveforgetful@example.com"})
    assert response.status_code == 200

    def link_in_output() -> str | None:
        output = live_server.log_path.read_text(errors="replace")
        message = re.search(r"To: liveforgetful@example\.com\n(?:.*\n)*?\n((?:.*\n)*?)-{79}",
                            output)
        return LINK.search(message.group(1)).group(0) if message else None

    link = wait_until(link_in_output, timeout=15, message="the reset mail in make run's output")
    assert link.startswith(f"{base}/auth/reset/")
    browser = _set_new_password(base, link, "fresh password")
    assert "Hello, liveforgetful" in browser.get(f"{base}/", timeout=5).text
    wait_until(lambda: not socket.client.connected, message="the old session's socket to close")
    assert old_session.get(f"{base}/", allow_redirects=False, timeout=5).status_code == 302


def test_a_slow_smtp_server_holds_no_request_under_eventlet(tmp_path):
    with smtp_server() as mailbox, LiveServer(
        tmp_path, env={"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(mailbox.port)}
    ) as server:
        base = server.url
        register(base, "slowmail")
        mailbox.hold()
        stranger = requests.Session()
        ask = {"email": "slowmail@example.com"}
        assert post_form(stranger, base, "/auth/reset", "/auth/reset", ask).status_code == 200
        assert mailbox.waiting_at_data.wait(15), "the mail task never reached the SMTP server"
        # The sender waits on the SMTP server; the loop goes on serving everyone.
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        assert post_form(stranger, base, "/auth/reset", "/auth/reset", ask).status_code == 200
        assert mailbox.messages == []
        mailbox.release()
        first, second = mailbox.wait_for(2, timeout=15)
        assert first.recipients == second.recipients == ["slowmail@example.com"]
        # Both links are valid until one is used; using one spends the other.
        _set_new_password(base, second.reset_link(), "fresh password")
        spent = requests.get(first.reset_link(), timeout=5)
        assert spent.status_code == 400
        assert "Ask for a new link" in spent.text


def test_export_downloads_as_a_stream(live_server):
    base = live_server.url
    session = register(base, "liveexporter")
    for title in ("Easy run", "Long run"):
        response = post_form(session, base, "/workouts/new", "/workouts/new", {
            "title": title, "activity": "run", "duration_minutes": "40", "distance_km": "8",
            "performed_on": "2026-01-05", "completed": "y"})
        assert response.status_code == 302
    with session.get(f"{base}/settings/export", stream=True, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("attachment; filename=")
        assert response.headers.get("Transfer-Encoding") == "chunked"
        data = json.loads(b"".join(response.iter_content(chunk_size=None)))
    assert data["profile"]["username"] == "liveexporter"
    assert [w["title"] for w in data["workouts"]] == ["Easy run", "Long run"]
    assert len(data["notifications"]) == 2
