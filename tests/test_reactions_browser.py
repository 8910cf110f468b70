"""Two people on two phones: kudos and a conversation under a workout.

Debian's Chromium at 360 px against the session's live server. What is
asserted is what each person sees: the button, the popup on the other phone,
the page it opens, the comment as typed, and the reply that comes back.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.live import register
from tests.test_browser import CONNECTED, PASSWORD
from tests.test_follows_browser import log
from tests.test_follows_browser import phone as phone  # noqa: PLC0414 - the two-phones fixture
from tests.test_ui import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.live]

POPUP = "#notification-container .toast[data-notification-id]"


def test_kudos_and_comments_reach_the_other_phone_and_lead_to_the_workout(live_server, phone):
    base = live_server.url
    ann_name, bob_name = (f"{who}{uuid.uuid4().hex[:8]}" for who in ("ann", "bob"))
    ann, bob = register(base, ann_name, PASSWORD), register(base, bob_name, PASSWORD)
    log(base, ann, "Sunday long run", "public")
    listing = ann.get(f"{base}/workouts/", timeout=5).text
    workout_id = int(re.search(r'data-workout-id="(\d+)"', listing).group(1))
    page_url = f"{base}/workouts/{workout_id}"

    ann_phone = phone(ann, "/")
    bob_phone = phone(bob, f"/workouts/{workout_id}")
    bob_phone.get_by_role("button", name="Kudos").click()
    expect(bob_phone.get_by_text("You gave kudos.")).to_be_visible()
    expect(bob_phone.locator("#kudos-count")).to_have_text("1")

    kudos = ann_phone.locator(POPUP, has_text=f"{bob_name} gave kudos to “Sunday long run”")
    expect(kudos).to_be_visible()
    kudos.locator(".toast-message").click()
    expect(ann_phone).to_have_url(page_url)
    expect(ann_phone.locator(".kudos-givers").get_by_role("link", name=bob_name)).to_be_visible()
    ann_phone.wait_for_function(CONNECTED)

    bob_phone.wait_for_function(CONNECTED)
    bob_phone.get_by_label("Comment").fill("<b>Strong</b> finish!\nSame time next week?")
    bob_phone.get_by_role("button", name="Post comment").click()
    expect(bob_phone.locator(".comment-body")).to_have_text(
        "<b>Strong</b> finish!\nSame time next week?")
    bob_phone.wait_for_function(CONNECTED)

    comment = ann_phone.locator(POPUP, has_text=f"{bob_name} on “Sunday long run”: <b>Strong</b>")
    expect(comment).to_be_visible()
    comment.locator(".toast-message").click()
    expect(ann_phone).to_have_url(page_url)
    expect(ann_phone.locator(".comment-body b")).to_have_count(0)  # text, never markup
    ann_phone.get_by_label("Comment").fill("Yes! 8 o'clock at the bridge.")
    ann_phone.get_by_role("button", name="Post comment").click()
    expect(ann_phone.locator(".comment-body").nth(1)).to_have_text("Yes! 8 o'clock at the bridge.")

    reply = bob_phone.locator(POPUP, has_text=f"{ann_name} on “Sunday long run”: Yes!")
    expect(reply).to_be_visible()
    assert axe_violations(ann_phone) == []
    assert axe_violations(bob_phone) == []
