"""Server memory per browser with three tabs: one shared connection against one per tab.

Starts the app as `make run` does (tests/live.py), then, in Debian's Chromium,
opens BROWSERS browser contexts of one user each with three tabs on the
dashboard, waits until every tab is connected (a tab that shares another's
connection counts once its leader is) and reads the server's resident memory
(/proc). "per tab" is the behaviour without Web Locks (an init script hides
`navigator.locks`, as an old browser lacks it): every tab its own socket.
"shared" is static/js/tabs.js's one connection per browser. Each sample gets a
fresh server, warmed by one page load before its baseline, and the two modes
alternate, so both see the same machine. Run:
`.venv/bin/python bench/tabs.py` (about three minutes; `--help` for the sizes).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, sync_playwright  # noqa: E402

from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.live import LiveServer, register  # noqa: E402

CONNECTED = "() => Boolean(window.fitnessLink && window.fitnessLink.connected)"
SETTLED = ("() => !window.fitnessSocket"
           " || window.fitnessSocket.io.engine.transport.name === 'websocket'")
NO_LOCKS = "Object.defineProperty(Navigator.prototype, 'locks', {get: () => undefined});"
MODES = {"per tab": NO_LOCKS, "shared": None}


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def app_pid(make_pid: int) -> int:
    """The `python app.py` that `make run` started, found among the make's descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    todo = [make_pid]
    while todo:
        pid = todo.pop()
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            argv = []
        if b"app.py" in argv and b"python" in Path(argv[0].decode()).name.encode():
            return pid
        todo.extend(children.get(pid, []))
    raise RuntimeError("app.py not found under make run")


def sample(browser: Browser, mode: str, browsers: int, tabs: int) -> dict:
    """One fresh server: its RSS with `browsers` x `tabs` tabs open, over its warm baseline."""
    with LiveServer(Path(tempfile.mkdtemp(prefix="bench-tabs-"))) as server:
        pid = app_pid(server.process.pid)
        sessions = [register(server.url, f"tabs{uuid.uuid4().hex[:10]}") for _ in range(browsers)]
        contexts = []
        handshakes: list[str] = []
        for number, session in enumerate(sessions):
            context = browser.new_context(base_url=server.url)
            if MODES[mode]:
                context.add_init_script(MODES[mode])
            context.add_cookies([{"name": c.name, "value": c.value, "url": server.url}
                                 for c in session.cookies])
            context.on("request", lambda r, n=number: handshakes.append(n)
                       if "transport=polling" in r.url and "sid=" not in r.url else None)
            contexts.append(context)
            if number == 0:  # warm the server up, then read the baseline
                page = context.new_page()
                page.goto("/")
                page.wait_for_function(CONNECTED)
                page.close()
                handshakes.clear()
        baseline = rss_bytes(pid)
        pages = []
        for context in contexts:
            for _ in range(tabs):
                page = context.new_page()
                page.goto("/")
                pages.append(page)
        for page in pages:
            page.wait_for_function(CONNECTED, timeout=60_000)
            page.wait_for_function(SETTLED, timeout=60_000)
        loaded = rss_bytes(pid)
        connections = len(handshakes)  # closing the tabs below hands leadership on: not counted
        for context in contexts:
            context.close()
    return {"connections": connections, "delta": loaded - baseline}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browsers", type=int, default=12, help="browser contexts per sample")
    parser.add_argument("--tabs", type=int, default=3, help="tabs per browser")
    parser.add_argument("--rounds", type=int, default=3, help="samples per mode, alternating")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {mode: [] for mode in MODES}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for round_ in range(args.rounds):
            order = list(MODES) if round_ % 2 == 0 else list(reversed(MODES))
            for mode in order:
                result = sample(browser, mode, args.browsers, args.tabs)
                results[mode].append(result)
                print(f"round {round_ + 1}, {mode}: {result['connections']} connections, "
                      f"RSS +{result['delta'] / 1024:.0f} KB", file=sys.stderr)
        browser.close()
    print(f"{args.browsers} browsers x {args.tabs} tabs, {args.rounds} fresh servers per mode "
          "(eventlet, SQLite), alternating")
    print("| mode | connections | server RSS over baseline (median) | per browser |")
    print("|---|---|---|---|")
    for mode, rows in results.items():
        delta = statistics.median(r["delta"] for r in rows)
        connections = statistics.median(r["connections"] for r in rows)
        print(f"| {mode} | {connections:.0f} | {delta / 2**20:.1f} MiB "
              f"| {delta / args.browsers / 1024:.0f} KB |")


if __name__ == "__main__":
    main()
