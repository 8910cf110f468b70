"""The real server, started as `make run` starts it, answers over HTTP."""

from __future__ import annotations

import pytest

from tests.live import post_form, register

pytestmark = pytest.mark.live


def test_sign_up_log_and_see_it(live_server):
    session = register(live_server.url, "livesignup")
    home = session.get(f"{live_server.url}/", timeout=5)
    assert home.status_code == 200
    assert "Hello, livesignup" in home.text
    response = post_form(
        session, live_server.url, "/workouts/new", "/workouts/new",
        {"title": "Lunch walk", "activity": "walk", "duration_minutes": "20",
         "distance_km": "", "performed_on": "2026-01-05", "completed": "y"},
    )
    assert response.status_code == 302
    assert "Lunch walk" in session.get(f"{live_server.url}/workouts/", timeout=5).text


def test_static_socketio_client_is_served_locally(live_server):
    import requests

    response = requests.get(f"{live_server.url}/static/vendor/socket.io.min.js", timeout=5)
    assert response.status_code == 200
    assert "Socket.IO v4.8" in response.text[:200]
