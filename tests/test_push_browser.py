"""Web Push in Debian's Chromium: the button subscribes, the real service worker shows the push.

Headless Chromium cannot subscribe (`pushManager.subscribe` needs Google's
service, which these machines cannot reach), so an init script stands in for
`subscribe` and `getSubscription`, answering a subscription at the local push
service. Everything after that is real: push.js posts it to the server, the
server encrypts and sends to the local push service, which decrypts it, and
the DevTools protocol delivers that plaintext to the registered service
worker (`ServiceWorker.deliverPushMessage`), which shows the notification.
Push needs a persistent context: ordinary contexts are incognito, where
push is refused (FIELD-NOTES.md).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.live import LiveServer, post_form, wait_until
from tests.pushservice import PushService
from tests.services import require

require("Chromium", None if CHROMIUM.exists() else
        "not installed at /usr/bin/chromium (Debian: apt-get install chromium)", module_level=True)

from playwright.sync_api import BrowserContext, Page, sync_playwright  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.live]

ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Mobile Safari/537.36")

# A document of the origin with no socket: the app's tab is closed, the worker stays.
QUIET_PAGE = "/static/css/app.css"

STUB = """
(() => {
  const subscription = %s;
  const fake = {
    endpoint: subscription.endpoint, expirationTime: null, options: { userVisibleOnly: true },
    toJSON() { return subscription; },
    getKey() { return null; },
    unsubscribe() { localStorage.removeItem("stub.subscribed"); return Promise.resolve(true); }
  };
  PushManager.prototype.subscribe = function (options) {
    if (!options || !options.userVisibleOnly || !options.applicationServerKey) {
      return Promise.reject(new Error("subscribe called without the VAPID key"));
    }
    localStorage.setItem("stub.subscribed", "1");
    return Promise.resolve(fake);
  };
  PushManager.prototype.getSubscription = function () {
    return Promise.resolve(localStorage.getItem("stub.subscribed") ? fake : null);
  };
})();
"""

SOCKET_ON_WEBSOCKET = """() => {
  const socket = window.fitnessSocket;
  return Boolean(socket && socket.connected && socket.io.engine.transport.name === "websocket");
}"""

NOTIFICATIONS = """async () => {
  const registration = await navigator.serviceWorker.getRegistration("/");
  if (!registration) return [];
  const shown = await registration.getNotifications();
  return shown.map(n => ({ title: n.title, body: n.body, tag: n.tag, badge: n.badge,
                           icon: n.icon, data: n.data }));
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory, push_service: PushService) -> Iterator[LiveServer]:
    with LiveServer(tmp_path_factory.mktemp("push-browser"),
                    env={"PUSH_SERVICES": push_service.origin}) as server:
        yield server


@pytest.fixture(scope="module")
def playwright():
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def phone(playwright, server, push_service, tmp_path) -> Iterator[tuple[BrowserContext, dict]]:
    """A persistent Chromium profile at phone size, signed in, its push stubbed."""
    subscription = push_service.subscription()
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True,
        args=CHROMIUM_ARGS, base_url=server.url, viewport={"width": 390, "height": 844},
        is_mobile=True, has_touch=True, user_agent=ANDROID)
    context.set_default_timeout(15_000)
    context.grant_permissions(["notifications"], origin=server.url)
    context.add_init_script(STUB % json.dumps(subscription))
    try:
        yield context, subscription
    finally:
        context.close()


def sign_up(page: Page, name: str) -> None:
    page.goto("/auth/register")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Email").fill(f"{name}@example.com")
    page.get_by_label("Password", exact=True).fill("password1")
    page.get_by_label("Repeat password").fill("password1")
    page.get_by_role("button", name="Register").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/")


def laptop(server: LiveServer, name: str) -> requests.Session:
    session = requests.Session()
    response = post_form(session, server.url, "/auth/login", "/auth/login",
                         {"email": f"{name}@example.com", "password": "password1"})
    assert response.status_code == 302
    return session


def complete(server: LiveServer, session: requests.Session, title: str) -> None:
    response = post_form(session, server.url, "/workouts/new", "/workouts/new", {
        "title": title, "activity": "run", "duration_minutes": "30", "distance_km": "5",
        "performed_on": date.today().isoformat(), "completed": "y"})
    assert response.status_code == 302


def enable_notifications(page: Page) -> str:
    page.goto("/settings/")
    page.get_by_role("button", name="Enable system notifications").click()
    page.get_by_text("System notifications are on.").wait_for()
    page.get_by_text("This device also gets them while Stride is closed.").wait_for()
    return page.evaluate("() => localStorage.getItem('stride.device')")


def deliver(context: BrowserContext, page: Page, origin: str, payload: dict) -> None:
    """Hand the decrypted payload to the registered service worker, as a push service would."""
    cdp = context.new_cdp_session(page)
    registrations: list[dict] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated",
           lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    for _ in range(50):
        live = [r for r in registrations if not r.get("isDeleted") and
                r["scopeURL"] == f"{origin}/"]
        if live:
            break
        page.wait_for_timeout(100)
    assert live, f"no service worker registration for {origin}/: {registrations}"
    cdp.send("ServiceWorker.deliverPushMessage", {
        "origin": origin, "registrationId": live[0]["registrationId"],
        "data": json.dumps(payload)})


def test_a_phone_subscribes_and_its_service_worker_shows_the_push(phone, server, push_service):
    context, subscription = phone
    name = f"ann{uuid.uuid4().hex[:8]}"
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_up(page, name)
    device = enable_notifications(page)
    assert device
    page.goto("/settings/devices")
    assert page.locator(f'[data-device-id="{device}"]').count() == 1
    assert "Chrome on Android" in page.locator("#device-list").inner_text()

    # The phone's tab closes (its socket with `auth.device` with it); a page of
    # the origin that runs no app script stays, for the DevTools session. Once the
    # socket has moved to WebSocket: a tab closed while its socket still long-polls
    # (the connect had just begun) stays connected on the server until the ping
    # timeout, 45 s, and a connected device gets no push.
    page.wait_for_function(SOCKET_ON_WEBSOCKET)
    page.goto(QUIET_PAGE)
    complete(server, laptop(server, name), "Lunch run")
    [push] = push_service.wait(lambda s: s.for_(subscription))
    assert push.payload["message"].startswith("Lunch run")

    deliver(context, page, server.url, push.payload)
    [shown] = wait_until(lambda: page.evaluate(NOTIFICATIONS), timeout=10,
                         message="the service worker's notification")
    assert shown["title"] == push.payload["title"]
    assert shown["body"] == push.payload["message"]
    assert shown["tag"] == str(push.payload["id"])
    assert shown["badge"].endswith("/static/img/badge-96.png")
    assert shown["data"] == {"id": push.payload["id"], "url": push.payload["url"],
                             "group": push.payload["group"]}

    # The same notification pushed again replaces itself (the tag is its id); a
    # different one pushed after it shows beside it, and marks when both were handled.
    deliver(context, page, server.url, push.payload)
    marker = {**push.payload, "id": push.payload["id"] + 1000, "title": "Marker"}
    deliver(context, page, server.url, marker)
    shown = wait_until(lambda: [n for n in page.evaluate(NOTIFICATIONS)
                                if n["title"] == "Marker"] and page.evaluate(NOTIFICATIONS),
                       timeout=10, message="the marker notification")
    assert sorted(n["tag"] for n in shown) == sorted([str(push.payload["id"]),
                                                       str(marker["id"])])

    # Removed on the devices page: the settings page no longer claims it, and the
    # button subscribes this browser anew.
    page.goto("/settings/devices")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove").click()
    page.get_by_text("No device gets notifications yet").wait_for()
    page.goto("/settings/")
    assert page.evaluate("() => localStorage.getItem('stride.device')") is None
    assert page.locator("#push-status").inner_text() == ""
    assert enable_notifications(page) not in (None, device)
    assert errors == []


def test_a_click_marks_its_group_read_and_opens_its_page(phone, server, push_service):
    """The worker's half of a click (focus or open) needs a real click; its message to the
    page is what marks the group read and goes to its url, and that is tested here."""
    context, subscription = phone
    name = f"bob{uuid.uuid4().hex[:8]}"
    page = context.new_page()
    sign_up(page, name)
    enable_notifications(page)
    page.goto(QUIET_PAGE)
    other_device = laptop(server, name)
    post_form(other_device, server.url, "/goals/new", "/goals/new",
              {"kind": "workouts", "target": "1", "period": "week"})
    complete(server, other_device, "Evening ride")
    [push] = push_service.wait(lambda s: s.for_(subscription))
    assert "\n" in push.payload["message"]  # the goal is listed in the same push
    page.goto("/")
    assert page.locator("#unread-count").inner_text() == "2"
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    [worker] = context.service_workers
    worker.evaluate("""async (message) => {
      const tabs = await self.clients.matchAll({ type: "window" });
      tabs.forEach(tab => tab.postMessage(message));
    }""", {"type": "stride:open", "id": push.payload["id"], "url": push.payload["url"],
           "group": push.payload["group"]})
    page.wait_for_url(lambda url: urlsplit(url).path == push.payload["url"])
    assert page.locator("#unread-count").inner_text() == "0"


def test_the_app_is_installable(phone, server):
    context, _ = phone
    page = context.new_page()
    page.goto("/auth/login")
    cdp = context.new_cdp_session(page)
    page.wait_for_load_state("networkidle")
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    assert errors == []
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"].endswith("/manifest.webmanifest") and not manifest["errors"]
