"""Serve `app.py` or `bench/bare.py` with a loop-lag probe running beside it.

`python bench/probed.py SCRIPT` patches the standard library for ASYNC_MODE
exactly as the script would, starts one green thread that sleeps
`PROBE_INTERVAL_MS` (5 ms) over and over and records how late it wakes, then
runs SCRIPT as `__main__`. Whatever holds the loop delays the probe by as
long: its lateness is the lag every other user feels. Samples go to
`PROBE_FILE` as `<monotonic start> <lag ms>` lines, twice a second;
CLOCK_MONOTONIC is system-wide, so the bench (`Server.lag`, bench/processes.py)
cuts them into its phases.

Every garbage collection is timed too (`gc.callbacks`), since a collection
holds the loop like any other work: `PROBE_FILE.gc` gets
`<monotonic start> <generation> <ms> <objects collected>` lines, so a lag
spike can be matched with a collection, or ruled out as one
(`Server.collections`).

With `PROBE_REQUESTS=1` (eventlet), every POST is timed in CPU as well as
in wall time: from its start to the first Engine.IO packet queued (the
fan-out begins), to the first WebSocket frame written, and to its end.
`PROBE_FILE.requests` gets `<monotonic start> <wall ms> <CPU ms>` for each of
the three. The loop's CPU time counts only what ran on it, so these stay
comparable on a machine busy with other work, where wall times do not
(`Server.requests`).
"""

from __future__ import annotations

import gc
import os
import runpy
import sys
import time

MODE = os.environ.get("ASYNC_MODE", "eventlet")
if MODE == "eventlet":
    import eventlet

    eventlet.monkey_patch()
    spawn, green_sleep = eventlet.spawn, eventlet.sleep
elif MODE == "gevent":
    import gevent
    from gevent import monkey

    monkey.patch_all()
    spawn, green_sleep = gevent.spawn, gevent.sleep
else:
    raise SystemExit(f"the probe needs a green loop, not ASYNC_MODE={MODE}")


_collections: list[str] = []
_collecting: list[float] = []


def _time_collection(phase: str, info: dict) -> None:
    """gc.callbacks hook: note when each collection started and how long it took."""
    if phase == "start":
        _collecting[:] = [time.monotonic()]
    elif _collecting:
        start = _collecting.pop()
        _collections.append(f"{start:.6f} {info['generation']} "
                            f"{(time.monotonic() - start) * 1000:.3f} {info['collected']}\n")


def time_requests(path: str) -> None:
    """Wrap eventlet's request handler, Engine.IO's send and the WebSocket write."""
    import eventlet.websocket
    import eventlet.wsgi
    from engineio.socket import Socket

    current: list[dict[str, tuple[float, float]]] = []

    def now() -> tuple[float, float]:
        return time.monotonic(), time.thread_time()

    handle = eventlet.wsgi.HttpProtocol.handle_one_response

    def handle_one_response(self: eventlet.wsgi.HttpProtocol) -> None:
        if self.environ.get("REQUEST_METHOD") != "POST":
            return handle(self)
        marks = {"start": now()}
        current[:] = [marks]
        try:
            return handle(self)
        finally:
            marks["end"] = now()
            current.clear()
            start = marks["start"]
            spans = [marks.get(m, marks["end"]) for m in ("queued", "written", "end")]
            with open(path, "a") as out:
                out.write(f"{start[0]:.6f} " + " ".join(
                    f"{1000 * (w - start[0]):.3f} {1000 * (c - start[1]):.3f}"
                    for w, c in spans) + "\n")

    queue = Socket.send

    def send(self: Socket, pkt: object) -> None:
        if current and "queued" not in current[0]:
            current[0]["queued"] = now()
        return queue(self, pkt)

    write = eventlet.websocket.RFC6455WebSocket.send

    def send_frame(self: eventlet.websocket.RFC6455WebSocket, message: object,
                   **kwargs: object) -> None:
        if current and "queued" in current[0] and "written" not in current[0]:
            current[0]["written"] = now()
        return write(self, message, **kwargs)

    eventlet.wsgi.HttpProtocol.handle_one_response = handle_one_response
    Socket.send = send
    eventlet.websocket.RFC6455WebSocket.send = send_frame


def probe(path: str, interval: float) -> None:
    """Sleep `interval`, note how late the wake-up came, flush every half second."""
    lines: list[str] = []
    flushed = time.monotonic()
    while True:
        start = time.monotonic()
        green_sleep(interval)
        woke = time.monotonic()
        lines.append(f"{start:.6f} {max(0.0, woke - start - interval) * 1000:.3f}\n")
        if woke - flushed >= 0.5:
            # Collections first: once the lag samples up to a moment are on
            # disk, so is every collection that ended before it.
            if _collections:
                done = _collections[:]
                del _collections[: len(done)]
                with open(f"{path}.gc", "a") as out:
                    out.writelines(done)
            with open(path, "a") as out:
                out.writelines(lines)
            lines.clear()
            flushed = woke


if __name__ == "__main__":
    script = sys.argv[1]
    gc.callbacks.append(_time_collection)
    if os.environ.get("PROBE_REQUESTS") == "1" and MODE == "eventlet":
        time_requests(f"{os.environ['PROBE_FILE']}.requests")
    spawn(probe, os.environ["PROBE_FILE"], float(os.environ.get("PROBE_INTERVAL_MS", "5")) / 1000)
    # As if SCRIPT had been run itself: its folder first on the import path.
    sys.argv = [script]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    runpy.run_path(script, run_name="__main__")
