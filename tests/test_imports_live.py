"""An import in a real browser against the live server: the bar moves, the outcome appears.

A person picks a Strava-like export on /workouts/import and is sent to the
import's page, where the bar follows `import_progress` without a reload and
the outcome, file by file, appears when `import_finished` arrives. Their
workout's page then draws the route, in miles for an imperial user.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from deploy.processes import wait_until
from tests.imports_helpers import START, gpx, strava_export, zipped
from tests.live import LiveServer, csrf_token, post_form, register
from tests.test_browser import CONNECTED, PASSWORD
from tests.test_ui import AXE, WIDTHS, axe_violations, sideways_overflow

pytestmark = [pytest.mark.browser, pytest.mark.live]


def export(files: int) -> bytes:
    """Hour-long runs, a point a second, a day apart: seconds of reading even on a quiet machine
    (about 0.1 s of CPU a file), so the page sees the bar between empty and full."""
    return zipped({f"activities/{i}.gpx": gpx(3600, START + timedelta(days=i), step_m=2.5)
                   for i in range(files)} | {"activities/broken.gpx": b"<gpx><trk>"})


def test_the_bar_moves_live_and_the_outcome_appears_without_a_reload(
        browser, live_server, tmp_path):
    base = live_server.url
    session = register(base, f"imp{uuid.uuid4().hex[:8]}", PASSWORD)
    response = post_form(session, base, "/settings/", "/settings/",
                         {"timezone": "UTC", "units": "imperial"})
    assert response.status_code == 302
    upload = tmp_path / "export_123.zip"
    upload.write_bytes(export(40))

    context = browser.new_context(base_url=base, **WIDTHS[360])
    context.set_default_timeout(60_000)
    context.add_init_script(path=str(AXE))
    context.add_cookies([{"name": c.name, "value": c.value, "url": base}
                         for c in session.cookies])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto("/workouts/import")
        page.get_by_label("Workout file").set_input_files(str(upload))
        page.get_by_role("button", name="Import").click()
        expect(page).to_have_url(re.compile(r"/workouts/imports/\d+$"))
        page.wait_for_function(CONNECTED)
        # A second tab of the same browser, which shares the first one's socket
        # (tabs.js): it ends on the outcome too.
        other_tab = context.new_page()
        other_tab.goto(page.url)
        # Seen moving: some files read, not all, while the page stays as it was loaded.
        page.evaluate("() => { window.__loaded = performance.timeOrigin; }")
        page.wait_for_function("""() => {
            const bar = document.getElementById("import-progress");
            return bar.value > 0 && bar.value < bar.max; }""")
        expect(page.locator("#import-count")).to_have_text(
            re.compile(r"^\d+ of 41 files read\.$"), timeout=30_000)
        expect(page.locator("#import-status")).to_have_text(
            "40 workouts added, 0 skipped as duplicates, 1 refused.", timeout=180_000)
        assert page.evaluate("() => window.__loaded === performance.timeOrigin"), "reloaded"
        expect(other_tab.locator("#import-status")).to_have_text(
            "40 workouts added, 0 skipped as duplicates, 1 refused.", timeout=30_000)
        expect(other_tab.locator("#import-progress")).to_have_attribute("value", "41")
        outcome = page.locator("#import-outcome li")
        expect(outcome).to_have_count(41)
        expect(page.locator("#import-outcome li[data-outcome=refused]")).to_contain_text(
            "well-formed")
        assert sideways_overflow(page) <= 0
        assert axe_violations(page) == []

        page.locator("#import-outcome li[data-outcome=added] a").first.click()
        expect(page.locator("svg.route-map path")).to_have_attribute("d", re.compile(r"^M"))
        # 3599 steps of 2.5 m in an hour: 9 km, 5.6 mi; 10:43 a mile.
        expect(page.locator(".figures").first).to_contain_text("5.6 mi")
        expect(page.locator("#figure-pace")).to_have_text(re.compile(r"^10:4\d /mi$"))
        expect(page.locator("#figure-elevation")).to_have_text(re.compile(r" ft$"))
        assert sideways_overflow(page) <= 0
        assert axe_violations(page) == []
        assert errors == []
    finally:
        context.close()
        session.close()


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_an_import_runs_under_each_server_mode(tmp_path, mode):
    """The reader process and its pipe work under both green servers (`make run`, deploy/)."""
    with LiveServer(tmp_path, env={"ASYNC_MODE": mode}) as server:
        session = register(server.url, f"mode{uuid.uuid4().hex[:8]}", PASSWORD)
        token = csrf_token(session, f"{server.url}/workouts/import")
        response = session.post(f"{server.url}/workouts/import", data={"csrf_token": token},
                                files={"file": ("e.zip", strava_export(4))},
                                allow_redirects=False, timeout=30)
        assert response.status_code == 303
        page_url = f"{server.url}{response.headers['Location']}"
        page = wait_until(lambda: (text := session.get(page_url, timeout=5).text)
                          and "Finished" in text and text, timeout=60, message="the import")
        assert "4 workouts added, 0 skipped as duplicates, 0 refused." in page
