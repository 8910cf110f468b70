"""Real-browser tests: Debian's Chromium, driven by Playwright, against the live server.

Each test signs up its own users (the live server is shared by the session) and
gives every user a browser context of its own, so login cookies never mix. What
is asserted is what a person sees: popups, the unread badge, the online count.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

import pytest
import requests

from tests.conftest import CHROMIUM
from tests.live import ROOT, post_form, register
from tests.services import require

require("Chromium", None if CHROMIUM.exists() else
        "not installed at /usr/bin/chromium (Debian: apt-get install chromium)", module_level=True)

from playwright.sync_api import (  # noqa: E402 - only once Chromium is known to exist
    Browser,
    BrowserContext,
    Error,
    Page,
    WebSocketRoute,
    expect,
)

pytestmark = [pytest.mark.browser, pytest.mark.live]

PASSWORD = "password1"
TOASTS = "#notification-container .toast[data-notification-id]"
# Functions, not bare expressions: Playwright evals a bare expression inside the
# page, which the Content-Security-Policy (no 'unsafe-eval') forbids.
# Connected: this tab's socket, or the one its browser's tabs share (static/js/tabs.js).
CONNECTED = "() => Boolean(window.fitnessLink && window.fitnessLink.connected)"
ON_WEBSOCKET = ("() => Boolean(window.fitnessSocket)"
                " && window.fitnessSocket.io.engine.transport.name === 'websocket'")
TRANSPORT = "() => window.fitnessSocket.io.engine.transport.name"
# A popup reaches another window within 1 s; over long-polling within 3 s.
LIVE_MS = 1000
POLLING_MS = 3000


@dataclass
class User:
    name: str
    http: requests.Session
    context: BrowserContext
    base: str
    errors: list[str] = field(default_factory=list)
    browsers: list[BrowserContext] = field(default_factory=list)

    @property
    def email(self) -> str:
        return f"{self.name}@example.com"

    def another_browser(self) -> BrowserContext:
        """The same user signed in on another browser (or device): a connection of its own."""
        context = self.context.browser.new_context(base_url=self.base)
        context.set_default_timeout(10_000)
        context.add_cookies(self.context.cookies())
        self.browsers.append(context)
        return context

    def open_window(self, path: str = "/", websocket: bool = True, page: Page | None = None):
        """A new window (or `page`) on `path`, once it is connected.

        With `websocket`, also once its own socket has upgraded from long-polling:
        only for the one tab of its browser that holds the connection.
        """
        page = page or self.context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.goto(path)
        page.wait_for_function(CONNECTED)
        if websocket:
            page.wait_for_function(ON_WEBSOCKET)
        return page


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture
def sign_up(browser: Browser, live_server) -> Iterator[Callable[..., User]]:
    """Sign up a fresh user over HTTP and hand its cookies to a new browser context."""
    users: list[User] = []

    def make(prefix: str = "br", admin: bool = False) -> User:
        name = unique(prefix)
        session = register(live_server.url, name, PASSWORD)
        if admin:
            promote(live_server, name)
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(10_000)
        context.add_cookies(
            [{"name": c.name, "value": c.value, "url": live_server.url} for c in session.cookies]
        )
        user = User(name, session, context, live_server.url)
        users.append(user)
        return user

    yield make
    for user in users:
        for page in [p for c in (user.context, *user.browsers) for p in c.pages]:
            # Say goodbye, so a long-polling window leaves no connection behind
            # until the ping timeout (the online count of later tests relies on it).
            try:
                page.evaluate("window.fitnessSocket && window.fitnessSocket.disconnect()")
            except Error:
                pass
        for context in (user.context, *user.browsers):
            context.close()
        user.http.close()
    errors = [e for user in users for e in user.errors]
    assert not errors, f"uncaught errors in the page: {errors}"


def promote(live_server, name: str) -> None:
    """Make `name` an admin with the documented command, against the live database."""
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "fitness_app", "create-admin",
         "--email", f"{name}@example.com", "--username", name, "--password", PASSWORD],
        cwd=ROOT, env=live_server.env, check=True, capture_output=True, timeout=60,
    )


def log_workout_with_form(page: Page, title: str, minutes: int = 31, km: str = "6.2") -> None:
    """Fill in and submit the workout form through its labels, as a person would."""
    page.goto("/workouts/new")
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Activity", exact=True).select_option("run")
    page.get_by_label("Duration (minutes)", exact=True).fill(str(minutes))
    page.get_by_label("Distance (km)", exact=True).fill(km)
    page.get_by_label("Date", exact=True).fill(date.today().isoformat())
    page.get_by_label("Completed", exact=True).check()
    page.get_by_role("button", name="Save").click()


def log_workout_over_http(live_server, user: User, title: str) -> None:
    response = post_form(
        user.http, live_server.url, "/workouts/new", "/workouts/new",
        {"title": title, "activity": "run", "duration_minutes": "31", "distance_km": "6.2",
         "performed_on": date.today().isoformat(), "completed": "y"},
    )
    assert response.status_code == 302, response.text[:500]


def toast(page: Page, text: str):
    return page.locator(TOASTS, has_text=text)


def completed_message(title: str) -> str:
    return f"{title}, 6.2 km in 31 min"


def test_popup_reaches_the_other_browser_over_websocket(sign_up):
    user = sign_up("twowin")
    logging = user.open_window("/")
    watching = user.open_window("/", page=user.another_browser().new_page())
    title = unique("Tempo run ")

    log_workout_with_form(logging, title)

    popup = toast(watching, completed_message(title))
    expect(popup).to_be_visible(timeout=LIVE_MS)
    expect(popup.locator(".toast-message")).to_have_text(completed_message(title))
    assert watching.evaluate(TRANSPORT) == "websocket"


def test_popup_arrives_over_long_polling_when_websocket_is_blocked(sign_up):
    user = sign_up("polling")
    blocked: list[str] = []

    def refuse(ws: WebSocketRoute) -> None:
        blocked.append(ws.url)
        ws.close(code=1011, reason="blocked by the test")

    watching = user.another_browser().new_page()
    watching.route_web_socket(lambda url: "/socket.io/" in url, refuse)
    watching = user.open_window("/", websocket=False, page=watching)
    logging = user.open_window("/")
    title = unique("Polled run ")

    log_workout_with_form(logging, title)

    expect(toast(watching, completed_message(title))).to_be_visible(timeout=POLLING_MS)
    assert blocked, "the page never tried to upgrade to WebSocket"
    assert watching.evaluate(TRANSPORT) == "polling"
    assert watching.evaluate(CONNECTED)


def test_markup_in_a_title_is_shown_as_text(sign_up):
    user = sign_up("markup")
    logging = user.open_window("/")
    watching = user.open_window("/", page=user.another_browser().new_page())
    title = f'<img src=x onerror="window.__pwned=1"><b>bold</b> {uuid.uuid4().hex[:6]}'

    log_workout_with_form(logging, title)

    popup = toast(watching, completed_message(title))
    expect(popup).to_be_visible(timeout=LIVE_MS)
    expect(popup.locator("img, b")).to_have_count(0)
    expect(watching.locator("#notification-container img, #notification-container b")) \
        .to_have_count(0)

    # The form redirected to the list, which shows the title as typed.
    expect(logging).to_have_url(re.compile(r"/workouts/$"))
    expect(logging.locator("[data-workout-id] .item-title").get_by_text(title, exact=True)) \
        .to_be_visible()
    expect(logging.locator("main img, main b")).to_have_count(0)
    for page in (logging, watching):
        assert page.evaluate("window.__pwned") is None


def test_escape_and_the_close_button_close_a_popup(sign_up, live_server):
    user = sign_up("closing")
    page = user.open_window("/")
    titles = [unique(f"Run {n} ") for n in range(3)]
    for title in titles:
        log_workout_over_http(live_server, user, title)
    first, second, third = (toast(page, completed_message(t)) for t in titles)
    for popup in (first, second, third):
        expect(popup).to_be_visible(timeout=LIVE_MS)

    # Escape closes the newest. The older ones stay, so no timer closed it.
    page.keyboard.press("Escape")
    expect(third).to_have_count(0, timeout=LIVE_MS)
    expect(first).to_be_visible()
    expect(second).to_be_visible()

    second.get_by_role("button", name="Close notification").click()
    expect(second).to_have_count(0, timeout=LIVE_MS)
    expect(first).to_be_visible()


def test_unread_badge_updates_live_in_the_other_tab(sign_up):
    user = sign_up("badge")
    acting = user.open_window("/")
    watching = user.open_window("/", websocket=False)  # a follower: the tabs share one socket
    badge = watching.locator("#unread-count")
    expect(badge).to_have_text("0")

    log_workout_with_form(acting, unique("Badge run "))
    expect(badge).to_have_text("1", timeout=2 * LIVE_MS)

    acting.goto("/notifications/")
    acting.wait_for_function(CONNECTED)
    acting.get_by_role("button", name="Mark all read").click()
    expect(badge).to_have_text("0", timeout=2 * LIVE_MS)
    expect(acting.locator("#unread-count")).to_have_text("0")


def test_announcement_reaches_other_users_and_stays_text(sign_up):
    admin = sign_up("admin", admin=True)
    readers = [sign_up("reader"), sign_up("reader")]
    windows = [reader.open_window("/") for reader in readers]
    admin_page = admin.open_window("/admin/")
    text = f"<script>window.__pwned=1</script><i>x</i> {uuid.uuid4().hex[:6]}"

    admin_page.get_by_label("Announcement", exact=True).fill(text)
    admin_page.get_by_role("button", name="Broadcast").click()

    for window in windows:
        popup = toast(window, text)
        expect(popup).to_be_visible(timeout=LIVE_MS)
        expect(popup.locator(".toast-message")).to_have_text(text)
        expect(popup.locator("script, i")).to_have_count(0)

    # Back on the admin page, the recent list shows it as typed.
    recent = admin_page.locator("li.inbox-item", has_text=text)
    expect(recent).to_be_visible()
    expect(recent.locator("script, i")).to_have_count(0)

    for window in windows:
        window.goto("/notifications/")
        item = window.locator(".inbox-item", has_text=text)
        expect(item).to_be_visible()
        expect(item.locator("script, i")).to_have_count(0)

    for page in (*windows, admin_page):
        assert page.evaluate("window.__pwned") is None


def test_online_count_on_the_admin_page_updates_live(sign_up):
    admin = sign_up("watcher", admin=True)
    admin_page = admin.open_window("/admin/")
    users = admin_page.locator("#online-users")
    connections = admin_page.locator("#online-connections")
    # The connect handler sends the figures before the socket counts as connected.
    base_users, base_connections = int(users.inner_text()), int(connections.inner_text())
    assert base_users >= 1 and base_connections >= 1  # the admin's own window

    visitor = sign_up("visitor")
    window = visitor.open_window("/")
    expect(users).to_have_text(str(base_users + 1))
    expect(connections).to_have_text(str(base_connections + 1))

    window.close()
    expect(users).to_have_text(str(base_users))
    expect(connections).to_have_text(str(base_connections))


def test_the_pages_run_under_their_content_security_policy(sign_up, live_server):
    """No policy violation anywhere, and the delete question (once inline) still asks."""
    ann = sign_up("csp")
    response = post_form(
        ann.http, live_server.url, "/workouts/new", "/workouts/new",
        {"title": "Planned run", "activity": "run", "duration_minutes": "20",
         "performed_on": date.today().isoformat()},
    )
    assert response.status_code == 302
    page = ann.context.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    ann.open_window("/workouts/", page=page)
    rows = page.locator("li[data-workout-id]")
    asked: list[str] = []

    def answer(accept: bool):
        def handle(dialog) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()
        return handle

    page.once("dialog", answer(False))
    page.get_by_role("button", name="Delete").click()
    expect(rows).to_have_count(1)
    page.once("dialog", answer(True))
    page.get_by_role("button", name="Delete").click()
    expect(rows).to_have_count(0)
    question = "Delete the workout “Planned run”? This cannot be undone."
    assert asked == [question, question]
    for path in ("/", "/goals/", "/notifications/", "/settings/"):
        ann.open_window(path, page=page)
    assert violations == []



def test_a_deleted_workouts_popup_and_inbox_row_lead_to_the_workouts_list(sign_up, live_server):
    """A phone back online is replayed a workout deleted meanwhile: neither click is a 404."""
    user = sign_up("gone")
    page = user.open_window("/")
    page.evaluate("window.fitnessSocket.disconnect()")
    title = unique("Gone run ")
    log_workout_over_http(live_server, user, title)
    notes = user.http.get(f"{live_server.url}/api/notifications?after=0", timeout=10).json()
    workout_id = notes["notifications"][-1]["data"]["workout_id"]
    deleted = post_form(user.http, live_server.url, "/workouts/",
                        f"/workouts/{workout_id}/delete", {})
    assert deleted.status_code == 302

    page.evaluate("window.fitnessSocket.connect()")
    popup = toast(page, completed_message(title))
    expect(popup).to_be_visible(timeout=LIVE_MS * 5)
    with page.expect_navigation() as opened:
        popup.locator(".toast-message").click()
    assert opened.value.status == 200
    expect(page).to_have_url(re.compile(r"/workouts/$"))

    page.goto("/notifications/")
    row = page.locator(".inbox-item", has_text=title)
    expect(row).to_contain_text("This workout was deleted.")
    with page.expect_navigation() as opened:
        row.get_by_role("link").click()
    assert opened.value.status == 200
    expect(page).to_have_url(re.compile(r"/workouts/$"))


RECORD_SYSTEM_NOTIFICATIONS = """
(() => {
  const Original = window.Notification;
  const shown = [];
  window.__systemNotifications = shown;
  window.__permissionRequests = 0;
  window.__hidden = false;
  Object.defineProperty(document, "hidden", {get: () => window.__hidden, configurable: true});
  window.__systemInstances = [];
  class Recorded extends EventTarget {
    constructor(title, options) {
      super();
      shown.push({title: title, body: options && options.body, tag: options && options.tag});
      window.__systemInstances.push(this);
    }
    close() {}
    static get permission() { return Original.permission; }
    static requestPermission() {
      window.__permissionRequests += 1;
      return Original.requestPermission();
    }
  }
  window.Notification = Recorded;
})();
"""
RECORD_EVENTS = """
window.__received = [];
document.addEventListener("fitness:notification", (e) => window.__received.push(e.detail));
"""


def test_registration_fills_the_time_zone_from_the_browser(browser, live_server):
    context = browser.new_context(base_url=live_server.url, timezone_id="Pacific/Auckland")
    context.set_default_timeout(10_000)
    page = context.new_page()
    name = unique("auckland")
    page.goto("/auth/register")
    expect(page.locator('input[type="hidden"][name="timezone"]')).to_have_value("Pacific/Auckland")
    page.get_by_label("Username", exact=True).fill(name)
    page.get_by_label("Email", exact=True).fill(f"{name}@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    expect(page).to_have_url(re.compile(r"/$"))

    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_label("Time zone", exact=True)).to_have_value("Pacific/Auckland")
    page.goto("/workouts/new")
    auckland_today = page.evaluate(
        "new Intl.DateTimeFormat('en-CA', {timeZone: 'Pacific/Auckland'}).format(new Date())"
    )
    expect(page.get_by_label("Date", exact=True)).to_have_value(auckland_today)
    page.evaluate("window.fitnessSocket && window.fitnessSocket.disconnect()")
    context.close()


def test_settings_page_saves_through_its_labels(sign_up):
    user = sign_up("settings")
    page = user.open_window("/settings/", websocket=False)
    page.get_by_label("Time zone", exact=True).fill("Pacific/Honolulu")
    page.get_by_label("Quiet hours start", exact=True).fill("22:30")
    page.get_by_label("Quiet hours end", exact=True).fill("06:15")
    page.get_by_label("Personal record", exact=True).check()
    page.get_by_label("Streak", exact=True).check()
    page.get_by_role("button", name="Save settings").click()

    expect(page.get_by_text("Settings saved.")).to_be_visible()
    expect(page.get_by_label("Time zone", exact=True)).to_have_value("Pacific/Honolulu")
    expect(page.get_by_label("Quiet hours start", exact=True)).to_have_value("22:30")
    expect(page.get_by_label("Quiet hours end", exact=True)).to_have_value("06:15")
    expect(page.get_by_label("Personal record", exact=True)).to_be_checked()
    expect(page.get_by_label("Workout completed", exact=True)).not_to_be_checked()

    page.get_by_label("Quiet hours end", exact=True).fill("")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Give both a start and an end, or neither.")).to_be_visible()


def test_a_silent_notification_shows_no_popup_but_counts(sign_up, live_server):
    user = sign_up("silent")
    user.context.add_init_script(RECORD_EVENTS)
    settings = user.open_window("/settings/", websocket=False)
    settings.get_by_label("Workout completed", exact=True).check()
    settings.get_by_role("button", name="Save settings").click()
    expect(settings.get_by_text("Settings saved.")).to_be_visible()
    page = user.open_window("/", websocket=False)  # it shares the settings tab's socket
    title = unique("Quiet run ")

    log_workout_over_http(live_server, user, title)

    page.wait_for_function("() => window.__received.length === 1")
    assert page.evaluate("window.__received[0].silent") is True
    expect(page.locator("#unread-count")).to_have_text("1")
    expect(page.locator(TOASTS)).to_have_count(0)
    page.goto("/notifications/")
    expect(page.locator(".inbox-item", has_text=title)).to_be_visible()


def test_a_hidden_page_raises_a_system_notification_after_the_button(sign_up, live_server):
    user = sign_up("system")
    user.context.grant_permissions(["notifications"], origin=live_server.url)
    user.context.add_init_script(RECORD_SYSTEM_NOTIFICATIONS)
    page = user.open_window("/settings/")
    assert page.evaluate("window.__permissionRequests") == 0
    page.get_by_role("button", name="Enable system notifications").click()
    expect(page.locator("#system-notifications-status")).to_have_text(
        "System notifications are on."
    )
    assert page.evaluate("window.__permissionRequests") == 1

    # Visible: a popup, no system notification.
    visible_title = unique("Seen run ")
    log_workout_over_http(live_server, user, visible_title)
    expect(toast(page, completed_message(visible_title))).to_be_visible(timeout=LIVE_MS)
    assert page.evaluate("window.__systemNotifications") == []

    page.evaluate("window.__hidden = true")
    hidden_title = unique("Hidden run ")
    log_workout_over_http(live_server, user, hidden_title)
    page.wait_for_function("() => window.__systemNotifications.length === 1")
    [shown] = page.evaluate("window.__systemNotifications")
    newest = user.http.get(f"{live_server.url}/api/notifications").json()["notifications"][-1]
    assert shown == {"title": "Workout completed", "body": completed_message(hidden_title),
                     "tag": str(newest["id"])}


def test_clicking_a_system_notification_opens_its_url(sign_up):
    user = sign_up("sysclick")
    user.context.grant_permissions(["notifications"])
    user.context.add_init_script(RECORD_SYSTEM_NOTIFICATIONS)
    page = user.open_window("/settings/", websocket=False)
    page.evaluate("window.__hidden = true")
    # Payloads as the server sends them, straight to the socket's listeners.
    for payload in (
        {"id": 987654, "kind": "streak", "title": "Streak", "message": "7 days in a row",
         "url": "/goals/", "silent": False, "group": "987654"},
        {"id": 987655, "kind": "streak", "title": "Streak", "message": "quiet",
         "silent": True, "group": "987655"},
    ):
        page.evaluate("p => window.fitnessSocket.listeners('notification').forEach(f => f(p))",
                      payload)
    page.wait_for_function("() => window.__systemNotifications.length > 0")
    assert page.evaluate("window.__systemNotifications") == [
        {"title": "Streak", "body": "7 days in a row", "tag": "987654"}
    ]
    page.evaluate("window.__systemInstances[0].dispatchEvent(new Event('click'))")
    expect(page).to_have_url(re.compile(r"/goals/$"))
