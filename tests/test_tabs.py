"""One connection per browser: several tabs of one Chromium context share one socket.

Headless tabs all report themselves visible and focused and fire no visibility
or focus events (FIELD-NOTES), so an init script gives each tab a visibility
and a focus that the test sets, with the events a browser would fire; a tab
keeps them across its own page loads, as a real tab does. Connections are
counted as Engine.IO handshakes: every Socket.IO connection starts with one,
whatever transport it ends on.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import requests
from playwright.sync_api import Browser, BrowserContext, Page, WebSocketRoute, expect

from tests.live import post_form, register, wait_until
from tests.test_browser import CONNECTED, PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.live]

TOASTS = "#notification-container .toast[data-notification-id]"
TAKEOVER_S = 2.0
TAB_STATE = """
(() => {
  let visible = sessionStorage.getItem("test.visible") === "1";
  let focused = sessionStorage.getItem("test.focused") === "1";
  Object.defineProperty(Document.prototype, "visibilityState",
                        {configurable: true, get: () => visible ? "visible" : "hidden"});
  Object.defineProperty(Document.prototype, "hidden", {configurable: true, get: () => !visible});
  Document.prototype.hasFocus = function () { return focused; };
  window.__setTab = (v, f) => {
    const events = [];
    if (v !== visible) events.push([document, "visibilitychange"]);
    if (f !== focused) events.push([window, f ? "focus" : "blur"]);
    visible = v;
    focused = f;
    sessionStorage.setItem("test.visible", v ? "1" : "0");
    sessionStorage.setItem("test.focused", f ? "1" : "0");
    events.forEach(([target, name]) => target.dispatchEvent(new Event(name)));
  };
})();
"""
RECORD_SYSTEM = """
window.__system = [];
window.Notification = class extends EventTarget {
  constructor(title, options) {
    super();
    window.__system.push({title, body: options.body, tag: options.tag});
  }
  close() {}
  static get permission() { return "granted"; }
  static requestPermission() { return Promise.resolve("granted"); }
};
"""
LEADER = "() => Boolean(window.fitnessLink && window.fitnessLink.leader && window.fitnessSocket" \
         " && window.fitnessSocket.connected)"


@dataclass
class Browsing:
    """One browser (a Playwright context) of one user, and every connection it opened."""

    base: str
    http: requests.Session
    context: BrowserContext
    handshakes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def tab(self, path: str, visible: bool = False, focused: bool = False) -> Page:
        page = self.context.new_page()
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.goto(path)
        page.wait_for_function(CONNECTED)
        set_tab(page, visible, focused)
        return page

    def log(self, title: str, km: str = "6.2") -> None:
        day = datetime.now(UTC).date().isoformat()
        response = post_form(self.http, self.base, "/workouts/new", "/workouts/new", {
            "title": title, "activity": "run", "duration_minutes": "31", "distance_km": km,
            "performed_on": day, "completed": "y"})
        assert response.status_code == 302, response.text[:300]

    def api(self) -> dict:
        return self.http.get(f"{self.base}/api/notifications", timeout=5).json()


def set_tab(page: Page, visible: bool, focused: bool) -> None:
    page.evaluate("([v, f]) => window.__setTab(v, f)", [visible, focused])


def is_handshake(url: str) -> bool:
    """The first request of an Engine.IO connection: polling, and no session id yet."""
    return "/socket.io/" in url and "transport=polling" in url and "sid=" not in url


@pytest.fixture
def browsing(browser: Browser, live_server) -> Iterator[Callable[..., Browsing]]:
    made: list[Browsing] = []

    def make(*scripts: str, http: requests.Session | None = None,
             **options: object) -> Browsing:
        http = http or register(live_server.url, f"tabs{uuid.uuid4().hex[:10]}", PASSWORD)
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(10_000)
        context.add_init_script(TAB_STATE)
        for script in scripts:
            context.add_init_script(script)
        context.add_cookies([{"name": c.name, "value": c.value, "url": live_server.url}
                             for c in http.cookies])
        made.append(Browsing(live_server.url, http, context))
        context.on("request", lambda r: made[-1].handshakes.append(r.url)
                   if is_handshake(r.url) else None)
        return made[-1]

    yield make
    for one in made:
        one.context.close()
        one.http.close()
        assert one.errors == []


def popups(pages: list[Page]) -> list[int]:
    return [page.locator(TOASTS).count() for page in pages]


def leader_of(pages: list[Page]) -> Page:
    leaders = [p for p in pages if not p.is_closed() and p.evaluate(LEADER)]
    assert len(leaders) == 1, leaders
    return leaders[0]


def test_three_tabs_hold_one_connection_and_show_one_popup_in_the_tab_focused_last(browsing):
    me = browsing()
    goals = me.tab("/goals/", visible=True, focused=True)
    dashboard = me.tab("/", visible=True, focused=True)
    inbox = me.tab("/notifications/", visible=True, focused=True)  # focused last
    set_tab(dashboard, visible=True, focused=False)
    set_tab(goals, visible=False, focused=False)
    tabs = [goals, dashboard, inbox]
    assert leader_of(tabs) is goals
    title = f"Shared run {uuid.uuid4().hex[:6]}"

    me.log(title)

    expect(inbox.locator(TOASTS, has_text=title)).to_be_visible()
    for tab in tabs:
        expect(tab.locator("#unread-count")).to_have_text("1")
    expect(inbox.locator("#inbox-list > li").first).to_contain_text(title)
    expect(dashboard.locator("[data-live-key=recent] .item-title").first).to_have_text(title)
    assert popups(tabs) == [0, 0, 1]
    assert len(me.handshakes) == 1, me.handshakes

    # Focus moves to the dashboard: the next action pops up there, once.
    set_tab(inbox, visible=False, focused=False)
    set_tab(dashboard, visible=True, focused=True)
    second = f"Next run {uuid.uuid4().hex[:6]}"
    me.log(second, km="7")
    popup = dashboard.locator(TOASTS, has_text=second)
    expect(popup.locator(".toast-item")).to_have_count(2)  # the run and its distance record
    for tab in tabs:
        expect(tab.locator("#unread-count")).to_have_text("3")
    assert [p.locator(TOASTS, has_text=second).count() for p in tabs] == [0, 1, 0]
    assert len(me.handshakes) == 1


def test_a_click_in_a_tab_without_the_socket_marks_the_group_read_everywhere(browsing):
    me = browsing()
    leader = me.tab("/goals/")
    follower = me.tab("/", visible=True, focused=True)
    me.log("First run")
    me.log("Longer run", km="9")
    popup = follower.locator(TOASTS, has_text="Longer run")
    expect(popup.locator(".toast-item")).to_have_count(2)
    expect(leader.locator("#unread-count")).to_have_text("3")
    posts: list[str] = []
    follower.on("request", lambda r: posts.append(r.url)
                if r.method == "POST" and "/socket.io/" not in r.url else None)

    popup.locator(".toast-link").click()

    expect(follower).to_have_url(re.compile(r"/workouts/\d+$"))
    expect(leader.locator("#unread-count")).to_have_text("1")
    expect(follower.locator("#unread-count")).to_have_text("1")
    assert [url.split("/", 3)[3] for url in posts] == ["notifications/read"]
    assert me.api()["unread"] == 1


@pytest.mark.parametrize("how", ["closed", "frozen"])
def test_when_the_leader_goes_another_tab_takes_over_and_misses_nothing(browsing, how):
    me = browsing()
    first = me.tab("/goals/")
    second = me.tab("/", visible=True, focused=True)
    third = me.tab("/notifications/")
    assert leader_of([first, second, third]) is first
    title = f"Missed run {uuid.uuid4().hex[:6]}"

    if how == "frozen":
        # Headless Chromium here neither freezes a page nor fires `freeze` for CDP's
        # Page.setWebLifecycleState (measured: no event, the lock stays held), so
        # the page gets the event a browser fires on the way into the freeze.
        first.evaluate("() => document.dispatchEvent(new Event('freeze'))")
    else:
        first.close()
    # Stored while no tab may hold the connection: the next leader must replay it.
    me.log(title)

    wait_until(lambda: any(p.evaluate(LEADER) for p in (second, third)), timeout=TAKEOVER_S,
               interval=0.05, message=f"a tab taking over from the {how} leader")
    expect(second.locator(TOASTS, has_text=title)).to_be_visible()
    for tab in (second, third):
        expect(tab.locator("#unread-count")).to_have_text("1")
    expect(third.locator("#inbox-list > li").first).to_contain_text(title)
    assert popups([second, third]) == [1, 0]
    assert len(me.handshakes) == 2, me.handshakes
    if how == "frozen":
        # Back from the freeze, it follows: no third connection, and it hears what comes.
        first.evaluate("() => document.dispatchEvent(new Event('resume'))")
        me.log("After the thaw")
        expect(first.locator("#unread-count")).to_have_text("2")
        assert not first.evaluate(LEADER)
        assert len(me.handshakes) == 2


def test_with_no_tab_visible_one_system_notification_per_group(browsing):
    me = browsing(RECORD_SYSTEM)
    tabs = [me.tab("/goals/"), me.tab("/"), me.tab("/notifications/")]
    me.log("First run")
    for tab in tabs:
        expect(tab.locator("#unread-count")).to_have_text("1")

    me.log("Longer run", km="9")

    notes = me.api()["notifications"]
    group = [n for n in notes if n["group"] == notes[-1]["group"]]
    assert [n["kind"] for n in group] == ["workout_completed", "personal_record"]
    for tab in tabs:
        expect(tab.locator("#unread-count")).to_have_text("3")
    leader = leader_of(tabs)
    leader.wait_for_function("() => window.__system.length === 2")
    shown = [n for tab in tabs for n in tab.evaluate("window.__system")]
    assert [n["tag"] for n in shown] == [str(notes[0]["id"]), str(group[0]["id"])]
    assert shown[1]["title"] == "Workout completed"
    assert shown[1]["body"] == f"{group[0]['message']}\nPersonal record: {group[1]['message']}"
    assert popups(tabs) == [0, 0, 0]


def test_a_tab_that_posts_a_form_gets_its_popup_after_the_reload(browsing):
    me = browsing()
    background = me.tab("/goals/")
    form = me.tab("/workouts/new", visible=True, focused=True)
    assert leader_of([background, form]) is background
    title = f"Form run {uuid.uuid4().hex[:6]}"

    form.get_by_label("Title", exact=True).fill(title)
    form.get_by_label("Activity", exact=True).select_option("run")
    form.get_by_label("Duration (minutes)", exact=True).fill("31")
    form.get_by_label("Distance (km)", exact=True).fill("6.2")
    form.get_by_label("Completed", exact=True).check()
    form.get_by_role("button", name="Save").click()

    expect(form).to_have_url(re.compile(r"/workouts/$"))
    expect(form.locator(TOASTS, has_text=title)).to_be_visible()
    expect(background.locator("#unread-count")).to_have_text("1")
    assert popups([background]) == [0]
    assert len(me.handshakes) == 1


def test_polling_only_browsers_share_one_connection_too(browsing):
    me = browsing()
    refused: list[str] = []

    def refuse(ws: WebSocketRoute) -> None:
        refused.append(ws.url)
        ws.close(code=1011, reason="blocked by the test")

    me.context.route_web_socket(lambda url: "/socket.io/" in url, refuse)
    tabs = [me.tab("/goals/"), me.tab("/", visible=True, focused=True), me.tab("/notifications/")]
    title = f"Polled run {uuid.uuid4().hex[:6]}"

    me.log(title)

    expect(tabs[1].locator(TOASTS, has_text=title)).to_be_visible()
    for tab in tabs:
        expect(tab.locator("#unread-count")).to_have_text("1")
    assert popups(tabs) == [0, 1, 0]
    assert len(me.handshakes) == 1
    assert leader_of(tabs).evaluate("() => window.fitnessSocket.io.engine.transport.name") == \
        "polling"
    assert refused, "the leader never tried to upgrade"


NO_LOCKS = "Object.defineProperty(Navigator.prototype, 'locks', {get: () => undefined});"


def test_without_web_locks_each_tab_keeps_its_own_connection(browsing):
    me = browsing(NO_LOCKS)
    tabs = [me.tab("/goals/", visible=True), me.tab("/", visible=True, focused=True)]
    title = f"Alone run {uuid.uuid4().hex[:6]}"

    me.log(title)

    for tab in tabs:
        expect(tab.locator(TOASTS, has_text=title)).to_be_visible()
        expect(tab.locator("#unread-count")).to_have_text("1")
    assert len(me.handshakes) == 2
    assert all(tab.evaluate("() => window.fitnessLink.shared") is False for tab in tabs)


def test_the_connection_names_this_browsers_push_device(browsing):
    me = browsing("localStorage.setItem('stride.device', 'device-42');")
    sent: list[str] = []
    me.context.on("request", lambda r: sent.append(r.post_data or "")
                  if "/socket.io/" in r.url and r.method == "POST" else None)
    tab = me.tab("/")
    last_id = int(tab.locator("#notification-container").get_attribute("data-last-id"))
    connects = [body for body in sent if body.startswith("40")]
    assert connects == [f'40{{"last_id":{last_id},"device":"device-42"}}']
