"""Page weight and load time of every main page, cold and warm, in Chromium.

Starts the app as `make run` does (tests/live.py), signs up a user with a few
workouts, goals and notifications, then loads each page twice in one browser
context at 390 px: first with an empty cache (what a newcomer downloads), then
again (what every later visit costs once the hashed static files are cached).
For each it reports the bytes on the wire (compressed), the requests made
besides the page itself and the Socket.IO connection, and the time to the
load event. Run: `.venv/bin/python bench/pages.py` (about half a minute).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.live import LiveServer, post_form, register  # noqa: E402

PAGES = ["/auth/login", "/", "/workouts/", "/goals/", "/notifications/", "/workouts/new"]
MEASURE = """() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const assets = performance.getEntriesByType("resource")
        .filter(r => !r.name.includes("/socket.io/"));
    return {
        page: nav.transferSize,
        html: nav.decodedBodySize,
        assets: assets.reduce((sum, r) => sum + r.transferSize, 0),
        fetched: assets.filter(r => r.transferSize > 0).length,
        load_ms: nav.loadEventEnd - nav.startTime,
    };
}"""


def seed(base: str) -> object:
    """A user with something on every page: 25 workouts, 2 goals, their notifications."""
    session = register(base, "benchpages", "password1")
    for n in range(25):
        response = post_form(session, base, "/workouts/new", "/workouts/new", {
            "title": f"Run {n}", "activity": "run", "duration_minutes": "30",
            "distance_km": "5", "performed_on": date.today().isoformat(), "completed": "y"})
        assert response.status_code == 302, response.text[:300]
    for kind, target in (("workouts", "3"), ("distance_km", "200")):
        post_form(session, base, "/goals/new", "/goals/new",
                  {"kind": kind, "target": target, "period": "month"})
    return session


def load(page: Page, path: str) -> dict:
    page.goto(path, wait_until="load")
    return page.evaluate(MEASURE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="loads per page and state")
    args = parser.parse_args()
    with LiveServer(Path(tempfile.mkdtemp(prefix="bench-pages-"))) as server, \
            sync_playwright() as playwright:
        session = seed(server.url)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=CHROMIUM_ARGS)
        print("| page | cold: bytes on the wire (HTML + assets) | warm: bytes, asset requests "
              "| HTML uncompressed | load, cold / warm (median ms) |")
        print("|---|---|---|---|---|")
        for path in PAGES:
            cold, warm = [], []
            for _ in range(args.runs):
                context = browser.new_context(
                    base_url=server.url, viewport={"width": 390, "height": 844},
                    is_mobile=True, has_touch=True)
                if path != "/auth/login":
                    context.add_cookies([{"name": c.name, "value": c.value, "url": server.url}
                                         for c in session.cookies])
                page = context.new_page()
                cold.append(load(page, path))
                warm.append(load(page, path))
                context.close()
            first, again = cold[0], warm[0]
            print(f"| `{path}` | {(first['page'] + first['assets']) / 1024:.1f} KB "
                  f"({first['page'] / 1024:.1f} + {first['assets'] / 1024:.1f}) "
                  f"| {(again['page'] + again['assets']) / 1024:.1f} KB, {again['fetched']} "
                  f"| {first['html'] / 1024:.1f} KB "
                  f"| {statistics.median(r['load_ms'] for r in cold):.0f} / "
                  f"{statistics.median(r['load_ms'] for r in warm):.0f} |")
        browser.close()


if __name__ == "__main__":
    main()
