"""One action, one popup; a dashboard that keeps up. Debian's Chromium at 360, 390, 1280 px.

A long run logged from another device reaches two goals, beats the distance
record and makes a three-day streak: five notifications in one group. A person
on the dashboard sees one popup listing them, the first on top, and the cards
under it change to the new state without a reload, for one request.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.browser_pages import SignedInPages
from tests.live import post_form, register
from tests.test_browser import CONNECTED, PASSWORD
from tests.test_ui import WIDTHS, axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.live]

POPUP = "#notification-container .toast[data-notification-id]"
VISIBLE_POPUP = "#notification-container .toast[data-notification-id]:not([hidden])"
PHONES = (360, 390)
SHARE = 0.4


def today() -> datetime:
    return datetime.now(UTC)


def log(base: str, session: requests.Session, title: str, km: str, days_ago: int = 0) -> None:
    day = (today() - timedelta(days=days_ago)).date().isoformat()
    response = post_form(session, base, "/workouts/new", "/workouts/new", {
        "title": title, "activity": "run", "duration_minutes": "48", "distance_km": km,
        "performed_on": day, "completed": "y"})
    assert response.status_code == 302, response.text[:300]
    session.get(f"{base}{response.headers['Location']}", timeout=5)  # read its flash here


def api(base: str, session: requests.Session) -> dict:
    return session.get(f"{base}/api/notifications", timeout=5).json()


@pytest.fixture
def runner(live_server) -> Callable[[], requests.Session]:
    """A new user with two days of runs and two all-time goals that the next long run
    completes: 3 workouts, 19 km."""
    def make() -> requests.Session:
        session = register(live_server.url, f"run{uuid.uuid4().hex[:10]}", PASSWORD)
        log(live_server.url, session, "Easy run", "6.2", days_ago=2)
        log(live_server.url, session, "Short run", "5", days_ago=1)
        for kind, target in (("workouts", "3"), ("distance_km", "19")):
            response = post_form(session, live_server.url, "/goals/new", "/goals/new",
                                 {"kind": kind, "target": target, "period": "all_time"})
            assert response.status_code == 302
        return session
    return make


@pytest.fixture
def open_page(browser: Browser, live_server) -> Iterator[Callable[..., Page]]:
    pages = SignedInPages(browser, live_server.url)
    yield pages.open
    pages.close()


def covered(page: Page) -> dict:
    """The stack of popups on screen (and "+N more"): its height against the visible height."""
    return page.evaluate("""() => {
        const shown = [...document.querySelectorAll("#notification-container > :not([hidden])")];
        const boxes = shown.map(el => el.getBoundingClientRect());
        const top = Math.min(...boxes.map(b => b.top));
        const bottom = Math.max(...boxes.map(b => b.bottom));
        const vv = window.visualViewport;
        return {span: bottom - top, height: vv.height, top: top - vv.offsetTop,
                bottom: bottom - vv.offsetTop, count: shown.length};
    }""")


def settled(page: Page) -> None:
    """Wait for the popups' entrance to finish, so boxes are measured where they rest."""
    page.evaluate("""() => Promise.all(
        [...document.querySelectorAll("#notification-container .toast")]
        .flatMap(el => el.getAnimations()).map(a => a.finished))""")


WATCH_LIVE_REGION = """() => {
    window.__added = [];
    new MutationObserver(records => records.forEach(r => r.addedNodes.forEach(node =>
        window.__added.push(node.nodeType === 1 ? node.className : "#text"))))
      .observe(document.getElementById("notification-container"),
               {childList: true, subtree: true});
}"""


def test_a_newcomers_first_workout_turns_the_welcome_into_the_dashboard(live_server, open_page):
    """The first workout replaces the welcome card with every card of the dashboard, as a
    reload would show it, and nothing else."""
    session = register(live_server.url, f"new{uuid.uuid4().hex[:10]}", PASSWORD)
    page = open_page(session, 360)
    expect(page.locator("[data-live-key=welcome]")).to_have_count(1)

    log(live_server.url, session, "First ever run", "5")

    expect(page.locator("[data-live-key=recent]")).to_contain_text("First ever run")
    live = page.locator("#dashboard [data-live-key]").evaluate_all(
        "cards => cards.map(card => card.dataset.liveKey)")
    assert live == ["summary", "week", "goals", "streak", "recent"]
    assert "undefined" not in page.locator("#dashboard").inner_text()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_one_long_run_is_one_popup_and_the_dashboard_keeps_up(live_server, runner, open_page,
                                                              width):
    session = runner()
    page = open_page(session, width)
    goals = page.locator("[data-live-key=goals] .goal")
    expect(goals).to_have_count(2)
    expect(goals.filter(has_text="Achieved")).to_have_count(0)
    expect(page.locator("#current-streak")).to_have_text("Current streak: 2 days")
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "/dashboard/live" in r.url else None)
    page.evaluate("window.__same_page = true")
    page.evaluate(WATCH_LIVE_REGION)

    log(live_server.url, session, "Long run by the river", "8")

    notes = api(live_server.url, session)["notifications"]
    group = [n for n in notes if n["group"] == notes[-1]["group"]]
    assert sorted(n["kind"] for n in group) == [
        "goal_achieved", "goal_achieved", "personal_record", "streak", "workout_completed"]
    popup = page.locator(POPUP)
    expect(popup).to_have_count(1)
    expect(popup).to_have_attribute("data-notification-id", str(group[0]["id"]))
    items = popup.locator(".toast-item[data-notification-id]")
    expect(items).to_have_count(5)
    assert items.evaluate_all("els => els.map(e => Number(e.dataset.notificationId))") == [
        n["id"] for n in group]
    expect(items.first).to_contain_text("Workout completed")
    expect(items.first).to_contain_text("Long run by the river, 8 km in 48 min")
    for n, item in zip(group, items.all(), strict=True):
        expect(item.locator(".toast-title")).to_have_text(n["title"])
        expect(item.locator(".toast-message")).to_have_text(n["message"])
    expect(popup.locator(".toast-link")).to_have_attribute("href", group[0]["url"])

    # The cards under it show what a reload would, without one, for one request.
    expect(goals.filter(has_text="Achieved")).to_have_count(2)
    expect(page.locator("#current-streak")).to_have_text("Current streak: 3 days")
    expect(page.locator("#personal-records")).to_contain_text("Run: 8 km")
    expect(page.locator("[data-live-key=recent] .item-title").first).to_have_text(
        "Long run by the river")
    assert page.evaluate("window.__same_page") is True
    # The swap above ends the fetch; a second one would have been asked for by now.
    assert len(fetched) == 1, fetched
    reloaded = page.context.new_page()
    reloaded.goto("/")
    for key in ("goals", "streak", "recent"):
        assert re.sub(r"\s+", " ", page.locator(f"[data-live-key={key}]").inner_text()) == \
            re.sub(r"\s+", " ", reloaded.locator(f"[data-live-key={key}]").inner_text()), key
    reloaded.close()

    # The live region took the popup in once, whole: one node, no member after it.
    assert page.evaluate("window.__added") == [popup.get_attribute("class")]
    settled(page)
    box = covered(page)
    assert 0 <= box["top"] and box["bottom"] <= box["height"], box
    if width in PHONES:
        assert box["span"] <= SHARE * box["height"], box
    assert axe_violations(page) == []


@pytest.mark.parametrize("width", list(WIDTHS))
def test_older_popups_fold_into_more_which_opens_the_inbox(live_server, open_page, width):
    session = register(live_server.url, f"fold{uuid.uuid4().hex[:10]}", PASSWORD)
    page = open_page(session, width, "/goals/")
    titles = [f"Run {n} {uuid.uuid4().hex[:6]}" for n in range(5)]
    for title in titles:
        log(live_server.url, session, title, "5")
        expect(page.locator(VISIBLE_POPUP, has_text=title)).to_be_visible()
        settled(page)
        box = covered(page)
        assert 0 <= box["top"] and box["bottom"] <= box["height"], box
        if width in PHONES:
            assert box["span"] <= SHARE * box["height"], box

    expect(page.locator(POPUP)).to_have_count(5)
    folded = page.locator(f"{POPUP}[hidden]").count()
    more = page.locator("#notification-container .toast-more")
    if width in PHONES:
        assert folded >= 1
        expect(more).to_be_visible()
        expect(more.get_by_role("link")).to_have_text(
            f"+{folded} more notification{'s' if folded > 1 else ''} in the inbox")
        expect(more.get_by_role("link")).to_have_accessible_name(re.compile(rf"^\+{folded} more"))
        # The newest stay in view, the oldest fold first.
        expect(page.locator(VISIBLE_POPUP).last).to_contain_text(titles[-1])
        expect(page.locator(f"{POPUP}[hidden]").first).to_contain_text(titles[0])
        assert axe_violations(page) == []
        # Closing the newest makes room for an older one again.
        page.locator(VISIBLE_POPUP).last.get_by_role("button", name="Close notification").click()
        expect(page.locator(f"{POPUP}[hidden]")).to_have_count(max(folded - 1, 0))
        more.get_by_role("link").click()
        expect(page).to_have_url(re.compile(r"/notifications/$"))
    else:
        assert folded == 0
        expect(more).to_be_hidden()


@pytest.mark.parametrize("width", [390, 1280])
def test_a_click_opens_the_first_and_marks_the_whole_group_read_at_once(
        live_server, runner, open_page, width):
    session = runner()
    page = open_page(session, width)
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on(
        "framesent", lambda payload: sent.append(payload) if "mark_read" in str(payload) else None))
    page.evaluate("() => { window.fitnessSocket.disconnect(); window.fitnessSocket.connect(); }")
    page.wait_for_function(CONNECTED)
    page.wait_for_function("() => window.fitnessSocket.io.engine.transport.name === 'websocket'")
    unread_before = api(live_server.url, session)["unread"]

    log(live_server.url, session, "Long run by the river", "8")

    notes = api(live_server.url, session)["notifications"]
    group = [n for n in notes if n["group"] == notes[-1]["group"]]
    popup = page.locator(POPUP)
    expect(popup.locator(".toast-item")).to_have_count(5)
    popup.locator(".toast-item").nth(3).click()

    expect(page).to_have_url(f"{live_server.url}{group[0]['url']}")
    assert api(live_server.url, session)["unread"] == unread_before  # all five read
    assert len(sent) == 1, sent
    event = json.loads(re.sub(r"^\d+", "", sent[0]))
    assert event == ["mark_read", {"ids": [n["id"] for n in group]}]


def test_with_the_socket_down_a_click_marks_the_group_with_one_post(live_server, runner,
                                                                     open_page):
    session = runner()
    page = open_page(session, 390)
    log(live_server.url, session, "Long run by the river", "8")
    popup = page.locator(POPUP)
    expect(popup.locator(".toast-item")).to_have_count(5)
    page.evaluate("() => window.fitnessSocket.disconnect()")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url)
            if r.method == "POST" and "/socket.io/" not in r.url else None)

    popup.locator(".toast-link").click()

    expect(page).to_have_url(re.compile(r"/workouts/\d+$"))
    assert [re.sub(r"^https?://[^/]+", "", url) for url in posts] == ["/notifications/read"]
    assert api(live_server.url, session)["unread"] == 2  # the two runs before it


def test_the_keyboard_reaches_a_group_and_its_members(live_server, runner, open_page):
    session = runner()
    page = open_page(session, 390)
    log(live_server.url, session, "Long run by the river", "8")
    expect(page.locator(".toast-item")).to_have_count(5)

    page.keyboard.press("Alt+n")

    focused = page.locator(".toast-link:focus")
    expect(focused).to_have_accessible_name(
        re.compile(r"^Workout completed: Long run by the river, 8 km in 48 min "))
    name = focused.evaluate("el => el.textContent")
    for n in api(live_server.url, session)["notifications"][-5:]:
        assert f"{n['title']} {n['message']}" in name
    page.keyboard.press("Escape")
    expect(page.locator(POPUP)).to_have_count(0)


def test_an_all_silent_group_shows_no_popup_but_counts_and_updates(live_server, runner,
                                                                    open_page):
    session = runner()
    response = post_form(session, live_server.url, "/settings/", "/settings/", {
        "timezone": "UTC", "muted": ["workout_completed", "goal_achieved", "personal_record",
                                     "streak"]})
    assert response.status_code == 302
    page = open_page(session, 390)

    log(live_server.url, session, "Long run by the river", "8")

    expect(page.locator("#unread-count")).to_have_text("7")
    expect(page.locator("[data-live-key=goals] .goal", has_text="Achieved")).to_have_count(2)
    expect(page.locator(POPUP)).to_have_count(0)
