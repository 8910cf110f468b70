"""Two people on two phones: one asks to follow, the other accepts from the popup.

Debian's Chromium at 360 px against the session's live server. What is
asserted is what each person sees: the buttons, the popup on the other
phone, the page it opens, and the workouts that become visible.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import date

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.browser_pages import SignedInPages
from tests.live import post_form, register
from tests.test_browser import CONNECTED, PASSWORD
from tests.test_ui import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.live]

POPUP = "#notification-container .toast[data-notification-id]"


def log(base: str, session: requests.Session, title: str, visibility: str) -> None:
    response = post_form(session, base, "/workouts/new", "/workouts/new", {
        "title": title, "activity": "run", "duration_minutes": "40", "distance_km": "8",
        "performed_on": date.today().isoformat(), "completed": "y",
        "visibility": visibility})
    assert response.status_code == 302, response.text[:300]
    session.get(f"{base}{response.headers['Location']}", timeout=5)  # read its flash here


@pytest.fixture
def phone(browser: Browser, live_server) -> Iterator[Callable[..., Page]]:
    """A 360 px phone signed in as `session`'s user, on `path`, once connected."""
    pages = SignedInPages(browser, live_server.url)
    yield lambda session, path: pages.open(session, 360, path)
    pages.close()


def test_ask_accept_from_the_popup_and_see_the_followers_workouts(live_server, phone):
    base = live_server.url
    ann_name, bob_name = (f"{who}{uuid.uuid4().hex[:8]}" for who in ("ann", "bob"))
    ann, bob = register(base, ann_name, PASSWORD), register(base, bob_name, PASSWORD)
    log(base, bob, "Bob's park run", "public")
    log(base, bob, "Bob's club intervals", "followers")

    ann_phone = phone(ann, f"/u/{bob_name}")
    bob_phone = phone(bob, "/")
    expect(ann_phone.get_by_text("Bob's park run")).to_be_visible()
    expect(ann_phone.get_by_text("Bob's club intervals")).to_have_count(0)

    ann_phone.get_by_role("button", name=f"Follow {bob_name}").click()
    expect(ann_phone.get_by_role("button", name="Requested")).to_be_visible()
    ann_phone.wait_for_function(CONNECTED)

    popup = bob_phone.locator(POPUP, has_text=f"{ann_name} asks to follow you.")
    expect(popup).to_be_visible()
    expect(bob_phone.locator(".follow-requests-count")).to_have_text("1")  # counted live
    popup.locator(".toast-message").click()
    expect(bob_phone).to_have_url(f"{base}/followers/requests")
    expect(bob_phone.locator(".follow-requests-count")).to_have_text("1")
    assert axe_violations(bob_phone) == []
    bob_phone.get_by_role("button", name=f"Accept {ann_name}").click()
    expect(bob_phone.get_by_text("No one is waiting for your answer.")).to_be_visible()

    accepted = ann_phone.locator(POPUP, has_text=f"{bob_name} accepted your follow request.")
    expect(accepted).to_be_visible()
    accepted.locator(".toast-message").click()
    expect(ann_phone).to_have_url(f"{base}/u/{bob_name}")
    expect(ann_phone.get_by_text("Bob's club intervals")).to_be_visible()
    expect(ann_phone.locator(".followers-count")).to_have_text("1 follower")
    expect(ann_phone.get_by_role("button", name=f"Unfollow {bob_name}")).to_be_visible()
    assert axe_violations(ann_phone) == []
