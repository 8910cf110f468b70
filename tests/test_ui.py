"""Every page in a real browser, at phone and desktop widths: fits, accessible, popups on screen.

For each screen in SCREENS and each width in CHECK_WIDTHS the test opens the page in
Debian's Chromium (Playwright) against the live server, and asserts what a
person on that device would notice:

- nothing scrolls sideways (measured against the screen, see FIELD-NOTES:
  with a phone viewport Chromium widens `innerWidth` to a too-wide page);
- axe-core (vendored from npm in tests/vendor/axe-core) finds no violation of
  any impact, with a popup open on signed-in pages;
- a popup that arrives while the page is open lies wholly inside the visible
  part of the screen, and nothing covers it.

Other pages join by adding a `Screen` to SCREENS. With `UI_SCREENSHOTS=<dir>`
the test also saves a screenshot of every screen at 390 and 1280 px there
(docs/screenshots/ holds the ones committed).
"""

from __future__ import annotations

import itertools
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import requests
from playwright.sync_api import (
    Browser,
    Page,
    expect,
)

from deploy.processes import wait_until
from tests.imports_helpers import gpx, zipped
from tests.live import csrf_token, post_form, register
from tests.test_browser import CONNECTED, PASSWORD, promote

pytestmark = [pytest.mark.browser, pytest.mark.live]

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
PHONE = {"is_mobile": True, "has_touch": True, "device_scale_factor": 2}
WIDTHS = {
    360: {"viewport": {"width": 360, "height": 740}, **PHONE},
    390: {"viewport": {"width": 390, "height": 844}, **PHONE},
    1280: {"viewport": {"width": 1280, "height": 800}},
}
TOAST = "#notification-container .toast[data-notification-id]"
SHOTS = os.environ.get("UI_SCREENSHOTS")
SHOT_WIDTHS = (390, 1280)  # a phone and a desktop
# Every screen is checked at the narrowest phone the contract names and on a
# desktop; 390 px (the popup fold's width, checked in test_popup_groups.py)
# joins when screenshots are taken, since docs/screenshots/ shows it.
CHECK_WIDTHS = [360, 1280, *([390] if SHOTS else [])]
POPUP_TITLES = itertools.cycle(["Lunch run", "Hill repeats", "Park loop", "Tempo run"])
COUNTER = itertools.count(1)


@dataclass
class World:
    """The people the screens are seen by, with something on their pages."""

    base: str
    member: requests.Session
    admin: requests.Session
    workout_id: int
    goal_id: int
    import_id: int
    route_workout_id: int
    member_name: str = ""
    admin_name: str = ""  # asked to follow the member, who has not answered


def submit_empty(page: Page) -> None:
    """Send the page's main form with its text fields emptied, to show the errors."""
    form = page.locator("main form[novalidate]").first
    for field in form.locator("input[type=text], input[type=email], input[type=password], "
                              "input[type=number], textarea").all():
        field.fill("")
    form.locator("button[type=submit]").click()
    expect(page.locator(".field.has-error").first).to_be_visible()


def open_report_form(page: Page) -> None:
    """Open the first comment's Report form, as a person about to report it."""
    page.locator(".comment details.report summary").first.click()
    expect(page.get_by_label("Reason").first).to_be_visible()


@dataclass(frozen=True)
class Screen:
    """One page as a person sees it: who is signed in, where, and what they did first.

    `who` is "member" (workouts, goals, notifications), "admin", "newcomer" (just
    registered, nothing logged) or None (signed out).
    """

    name: str
    path: str | Callable[[World], str]
    who: str | None = "member"
    then: Callable[[Page], None] | None = None

    def url(self, world: World) -> str:
        return self.path(world) if callable(self.path) else self.path


SCREENS = [
    Screen("sign-in", "/auth/login", None),
    Screen("sign-in-errors", "/auth/login", None, submit_empty),
    Screen("register", "/auth/register", None),
    Screen("register-errors", "/auth/register", None, submit_empty),
    Screen("not-found", "/no/such/page", None),
    Screen("welcome", "/", "newcomer"),
    Screen("dashboard", "/"),
    Screen("workouts", "/workouts/"),
    Screen("workout-new-errors", "/workouts/new", then=submit_empty),
    Screen("workout-edit", lambda w: f"/workouts/{w.workout_id}/edit"),
    Screen("workout", lambda w: f"/workouts/{w.workout_id}"),
    Screen("workout-route", lambda w: f"/workouts/{w.route_workout_id}"),
    Screen("workout-seen-by-another", lambda w: f"/workouts/{w.workout_id}", "newcomer"),
    Screen("workout-report", lambda w: f"/workouts/{w.workout_id}", "newcomer",
           open_report_form),
    Screen("import", "/workouts/import"),
    Screen("import-outcome", lambda w: f"/workouts/imports/{w.import_id}"),
    Screen("goals", "/goals/"),
    Screen("goal-new", "/goals/new"),
    Screen("goal-edit-errors", lambda w: f"/goals/{w.goal_id}/edit", then=submit_empty),
    Screen("inbox", "/notifications/"),
    Screen("feed", "/feed"),
    Screen("not-allowed", "/admin/", "member"),
    Screen("admin", "/admin/", "admin"),
    Screen("admin-errors", "/admin/", "admin", submit_empty),
    Screen("admin-reports", "/admin/reports", "admin"),
    Screen("settings", "/settings/"),
    Screen("settings-errors", "/settings/", then=submit_empty),
    Screen("password", "/settings/password", then=submit_empty),
    Screen("delete-account", "/settings/delete"),
    Screen("devices", "/settings/devices"),
    Screen("profile", lambda w: f"/u/{w.member_name}"),
    Screen("profile-other", lambda w: f"/u/{w.admin_name}"),
    Screen("follow-requests", "/followers/requests"),
    Screen("reset", "/auth/reset", None),
    Screen("reset-errors", "/auth/reset", None, submit_empty),
    Screen("reset-link-invalid", "/auth/reset/not-a-real-token", None),
]


def log_workout(base: str, session: requests.Session, title: str, completed: bool = True,
                minutes: int = 31, km: str = "6.2", visibility: str = "followers") -> None:
    data = {"title": title, "activity": "run", "duration_minutes": str(minutes),
            "distance_km": km, "performed_on": date.today().isoformat(),
            "visibility": visibility}
    if completed:
        data["completed"] = "y"
    response = post_form(session, base, "/workouts/new", "/workouts/new", data)
    assert response.status_code == 302, response.text[:500]
    # Read the "Saved" message here, or the next page opened with these cookies shows it.
    session.get(f"{base}{response.headers['Location']}", timeout=5)


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def world(live_server) -> Iterator[World]:
    base = live_server.url
    member_name = unique("member")
    member = register(base, member_name, PASSWORD)
    log_workout(base, member, "Easy run")
    log_workout(base, member, "Long ride along the river with the club", minutes=95, km="42.5")
    # The newest: the "workout" screens show it, with kudos and comments from others.
    log_workout(base, member, "Planned swim", completed=False, minutes=45, km="",
                visibility="public")
    response = post_form(member, base, "/goals/new", "/goals/new",
                         {"kind": "workouts", "target": "2", "period": "week"})
    assert response.status_code == 302
    post_form(member, base, "/goals/new", "/goals/new",
              {"kind": "distance_km", "target": "100", "period": "month"})
    page = member.get(f"{base}/workouts/", timeout=5).text
    workout_id = int(re.search(r'data-workout-id="(\d+)"', page).group(1))
    goal_id = int(re.search(r'data-goal-id="(\d+)"', member.get(f"{base}/goals/").text).group(1))
    import_id, route_workout_id = import_a_file(base, member)
    admin_name = unique("admin")
    admin = register(base, admin_name, PASSWORD)
    promote(live_server, admin_name)
    react(base, member, admin, workout_id)
    asked = post_form(admin, base, f"/u/{member_name}", f"/u/{member_name}/follow", {})
    assert asked.status_code == 302
    yield World(base, member, admin, workout_id, goal_id, import_id, route_workout_id,
                member_name=member_name, admin_name=admin_name)
    member.close()
    admin.close()


def react(base: str, member: requests.Session, admin: requests.Session, workout_id: int) -> None:
    """Kudos and two comments on the member's workout, and a report for the admins."""
    page = f"/workouts/{workout_id}"
    assert post_form(admin, base, page, f"{page}/kudos", {}).status_code == 303
    for session, body in (
        (admin, "Great pace!\nSee you at the club on Sunday."),
        (member, "Thanks! The river path was flooded, so I took the long way round "
                 "by the old bridge and back along the canal."),
    ):
        response = post_form(session, base, page, f"{page}/comments", {"body": body})
        assert response.status_code == 303, response.text[:500]
        session.get(f"{base}{page}", timeout=5)  # reads the flash
    first = int(re.search(r'id="comment-(\d+)"', member.get(f"{base}{page}").text).group(1))
    response = post_form(member, base, page, f"/comments/{first}/report",
                         {"reason": "Checking the report screen"})
    assert response.status_code == 303
    member.get(f"{base}{page}", timeout=5)


def import_a_file(base: str, session: requests.Session) -> tuple[int, int]:
    """Upload a zip with a track and a broken file; return the import's id and the workout's."""
    content = zipped({"activities/river-loop-with-a-long-name-from-the-export.gpx":
                      gpx(900, name="River loop"), "activities/broken.gpx": b"<gpx>"})
    token = csrf_token(session, f"{base}/workouts/import")
    response = session.post(f"{base}/workouts/import", data={"csrf_token": token},
                            files={"file": ("export.zip", content)}, allow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    page_url = f"{base}{response.headers['Location']}"
    page = wait_until(lambda: (text := session.get(page_url, timeout=5).text)
                      and "Finished" in text and text, timeout=60, message="the import")
    workout_id = int(re.search(r'href="/workouts/(\d+)"', page).group(1))
    return int(page_url.rsplit("/", 1)[1]), workout_id


def session_for(world: World, who: str | None) -> requests.Session | None:
    if who == "newcomer":
        return register(world.base, unique("new"), PASSWORD)
    return {"member": world.member, "admin": world.admin, None: None}[who]


def open_screen(browser: Browser, world: World, screen: Screen, width: int,
                session: requests.Session | None, **options) -> Page:
    context = browser.new_context(base_url=world.base, **WIDTHS[width], **options)
    context.set_default_timeout(10_000)
    context.add_init_script(path=str(AXE))
    if session is not None:
        context.add_cookies([{"name": c.name, "value": c.value, "url": world.base}
                             for c in session.cookies])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    page.goto(screen.url(world))
    if screen.then:
        screen.then(page)
    return page


def sideways_overflow(page: Page) -> int:
    """How many pixels the page is wider than the screen it is shown on."""
    return page.evaluate("""() => document.documentElement.scrollWidth
        - Math.min(screen.width, window.visualViewport.width, window.innerWidth)""")


def axe_violations(page: Page) -> list[dict]:
    result = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + n.failureSummary)}));
    }""")
    return result


def popup_placement(page: Page) -> dict:
    """The newest popup's box against the visual viewport, and what is drawn at its middle."""
    return page.evaluate("""(selector) => {
        const toasts = document.querySelectorAll(selector);
        const toast = toasts[toasts.length - 1];
        const box = toast.getBoundingClientRect();
        const vv = window.visualViewport;
        const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
        return {left: box.left, top: box.top, right: box.right, bottom: box.bottom,
                vvLeft: vv.offsetLeft, vvTop: vv.offsetTop,
                vvRight: vv.offsetLeft + vv.width, vvBottom: vv.offsetTop + vv.height,
                onTop: !!top && toast.contains(top)};
    }""", TOAST)


def check_popup_arrives(page: Page, world: World, session: requests.Session) -> None:
    """A run longer than any before: "Workout completed" and "Personal record" in one
    popup (the member's; a newcomer's first run sets the record quietly)."""
    page.wait_for_function(CONNECTED)
    number = next(COUNTER)
    title = f"{next(POPUP_TITLES)} {number}"
    log_workout(world.base, session, title, km=str(50 + number))
    popup = page.locator(TOAST, has_text=f"{title},")
    expect(popup).to_be_visible(timeout=3000)
    if session is world.member:
        first = int(popup.get_attribute("data-notification-id"))
        notes = session.get(f"{world.base}/api/notifications?after={first - 1}",
                            timeout=5).json()["notifications"]
        group = [n for n in notes if n["group"] == str(first)]
        assert len(group) >= 2 and "Longest run yet" in group[-1]["message"]
        expect(popup.locator(".toast-item")).to_have_count(len(group))
    # Judged where it comes to rest, as a person sees it, once its entrance has played.
    popup.evaluate("el => Promise.all(el.getAnimations().map(a => a.finished))")
    box = popup_placement(page)
    assert box["left"] >= box["vvLeft"] and box["right"] <= box["vvRight"], box
    assert box["top"] >= box["vvTop"] and box["bottom"] <= box["vvBottom"], box
    assert box["onTop"], f"something covers the popup: {box}"
    if page.viewport_size["width"] < 768:  # phones: popups span the width, 40 % at most
        assert box["bottom"] - box["top"] <= 0.4 * (box["vvBottom"] - box["vvTop"]), box


@pytest.mark.parametrize("width", CHECK_WIDTHS)
@pytest.mark.parametrize("screen", SCREENS, ids=[s.name for s in SCREENS])
def test_screen_fits_is_accessible_and_shows_popups(browser, world, screen: Screen, width: int):
    session = session_for(world, screen.who)
    page = open_screen(browser, world, screen, width, session)
    try:
        assert sideways_overflow(page) <= 0, f"{screen.name} scrolls sideways at {width} px"
        if session is not None:
            check_popup_arrives(page, world, session)
        violations = axe_violations(page)
        assert violations == [], violations
        assert sideways_overflow(page) <= 0, f"{screen.name} with a popup at {width} px"
        if SHOTS and width in SHOT_WIDTHS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{SHOTS}/{screen.name}-{width}.png")
        assert page.errors == []
    finally:
        page.context.close()


DARK_SCREENS = [s for s in SCREENS if s.name in
                {"sign-in-errors", "welcome", "workouts", "goals", "inbox", "admin-errors",
                 "workout-report", "admin-reports"}]


@pytest.mark.parametrize("screen", DARK_SCREENS, ids=[s.name for s in DARK_SCREENS])
def test_dark_theme_is_accessible(browser, world, screen: Screen):
    session = session_for(world, screen.who)
    page = open_screen(browser, world, screen, 390, session, color_scheme="dark")
    try:
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(16, 20, 28)", "the dark theme did not apply"
        if session is not None:
            check_popup_arrives(page, world, session)
        assert axe_violations(page) == []
    finally:
        page.context.close()


@pytest.fixture
def member_page(browser, world) -> Iterator[Callable[..., Page]]:
    """A page of the member's, on `path` at `width`, once its socket is connected."""
    pages: list[Page] = []

    def open_(path: str, width: int = 390) -> Page:
        page = open_screen(browser, world, Screen("member", path), width, world.member)
        page.wait_for_function(CONNECTED)
        pages.append(page)
        return page

    yield open_
    for page in pages:
        assert page.errors == []
        page.context.close()


def newest_notification(world: World) -> dict:
    """The member's newest notification: the API answers 100 at a time, oldest first."""
    after, newest = 0, None
    while True:
        notes = world.member.get(f"{world.base}/api/notifications?after={after}",
                                 timeout=5).json()
        if not notes["notifications"]:
            return newest, notes["unread"]
        newest = notes["notifications"][-1]
        after = newest["id"]


def test_clicking_a_popup_opens_its_page_and_marks_it_read(world, member_page):
    page = member_page("/goals/")
    title = unique("Clicked run ")
    log_workout(world.base, world.member, title)
    note, unread_before = newest_notification(world)
    popup = page.locator(TOAST, has_text=title)
    expect(popup).to_have_attribute("data-notification-id", str(note["id"]))

    popup.locator(".toast-message").click()

    expect(page).to_have_url(f"{world.base}{note['url']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    _, unread_after = newest_notification(world)
    assert unread_after == unread_before - 1


def test_close_button_closes_without_opening(world, member_page):
    page = member_page("/goals/")
    title = unique("Closed run ")
    log_workout(world.base, world.member, title)
    popup = page.locator(TOAST, has_text=title)
    popup.get_by_role("button", name="Close notification").click()
    expect(popup).to_have_count(0)
    assert page.url.endswith("/goals/")


def test_inbox_shows_an_arrival_at_the_top_with_its_link(world, member_page):
    page = member_page("/notifications/")
    title = unique("Live run ")
    log_workout(world.base, world.member, title)
    note, _ = newest_notification(world)

    first = page.locator("#inbox-list > li").first
    expect(first).to_contain_text(note["message"])
    expect(first).to_have_attribute("data-notification-id", str(note["id"]))
    expect(first.locator("a")).to_have_attribute("href", note["url"])
    expect(first.locator(".pill")).to_have_text("Unread")
    expect(first.locator("time")).to_have_text(re.compile(r"now|second|minute"))
    assert first.locator("time").get_attribute("title")
    assert title not in note["title"] and note["title"] not in note["message"]


def test_alt_n_reaches_the_newest_popup_and_escape_returns(world, member_page):
    page = member_page("/workouts/", width=1280)
    page.get_by_role("link", name="Log a workout").focus()
    for _ in range(2):
        title = unique("Keyboard run ")
        log_workout(world.base, world.member, title)
        expect(page.locator(TOAST, has_text=title)).to_be_visible()

    page.keyboard.press("Alt+n")
    focused = page.locator(".toast-link:focus")
    expect(focused).to_contain_text(title)
    outline = focused.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none", "the focused popup shows no focus ring"

    page.keyboard.press("Escape")
    expect(page.locator(TOAST, has_text=title)).to_have_count(0)
    expect(page.get_by_role("link", name="Log a workout")).to_be_focused()


def test_a_silent_notification_shows_no_popup_but_reaches_listeners(world, member_page):
    page = member_page("/notifications/")
    page.evaluate("""() => {
        window.__heard = [];
        document.addEventListener("fitness:notification", e => window.__heard.push(e.detail.id));
    }""")
    payload = {"id": 10**9, "kind": "workout_completed", "title": "Workout completed",
               "message": "Quiet run, 5 km in 30 min", "created_at": "2026-11-26T03:00:00Z",
               "data": {}, "url": "/workouts/", "silent": True}
    # The socket's own handler, fed the payload the server would send.
    page.evaluate("p => window.fitnessSocket.listeners('notification').forEach(f => f(p))",
                  payload)

    expect(page.locator("#inbox-list > li").first).to_contain_text("Quiet run")
    expect(page.locator(TOAST, has_text="Quiet run")).to_have_count(0)
    assert page.evaluate("() => window.__heard") == [10**9]


def test_phone_menu_opens_and_names_the_current_page(world, member_page):
    page = member_page("/goals/", width=360)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Goals")).to_have_attribute("aria-current", "page")
    box = nav.get_by_role("link", name="Workouts").bounding_box()
    assert box["height"] >= 44
    nav.get_by_role("link", name="Workouts").click()
    expect(page).to_have_url(re.compile(r"/workouts/$"))


def test_goal_delete_asks_first(world, member_page):
    response = post_form(world.member, world.base, "/goals/new", "/goals/new",
                         {"kind": "duration_minutes", "target": "999", "period": "all_time"})
    assert response.status_code == 302
    page = member_page("/goals/", width=1280)
    goal = page.locator(".goal", has_text="999 minutes in total")
    answers = iter([False, True])
    page.on("dialog", lambda d: d.accept() if next(answers) else d.dismiss())

    goal.get_by_role("button", name="Delete").click()
    expect(goal).to_have_count(1)
    goal.get_by_role("button", name="Delete").click()
    expect(page.locator(".flash")).to_have_text("Goal deleted.")
    expect(goal).to_have_count(0)


def test_skip_link_is_the_first_stop_and_lands_in_main(browser, world):
    page = open_screen(browser, world, Screen("goals", "/goals/"), 1280, world.member)
    try:
        page.keyboard.press("Tab")
        skip = page.get_by_role("link", name="Skip to content")
        expect(skip).to_be_focused()
        expect(skip).to_be_in_viewport()
        page.keyboard.press("Enter")
        expect(page.locator("main")).to_be_focused()
    finally:
        page.context.close()


def test_popups_do_not_move_when_motion_is_reduced(browser, world):
    page = open_screen(browser, world, Screen("goals", "/goals/"), 390, world.member,
                       reduced_motion="reduce")
    try:
        page.wait_for_function(CONNECTED)
        title = unique("Calm run ")
        log_workout(world.base, world.member, title)
        popup = page.locator(TOAST, has_text=title)
        expect(popup).to_be_visible()
        assert popup.evaluate("el => el.getAnimations().length") == 0
    finally:
        page.context.close()


def test_an_inbox_row_opens_its_page_and_is_read_even_with_the_socket_down(world, member_page):
    title = unique("Inbox row run ")
    log_workout(world.base, world.member, title)
    note, unread_before = newest_notification(world)
    page = member_page("/notifications/")
    page.evaluate("() => window.fitnessSocket.disconnect()")
    row = page.locator(f'#inbox-list > li[data-notification-id="{note["id"]}"]')
    expect(row).to_have_class(re.compile(r"\bunread\b"))

    row.get_by_role("link").click()

    expect(page).to_have_url(f"{world.base}{note['url']}")
    assert newest_notification(world)[1] == unread_before - 1
