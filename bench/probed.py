"""Serve `app.py` or `bench/bare.py` with a loop-lag probe running beside it.

`python bench/probed.py SCRIPT` patches the standard library for ASYNC_MODE
exactly as the script would, starts one green thread that sleeps
`PROBE_INTERVAL_MS` (5 ms) over and over and records how late it wakes, then
runs SCRIPT as `__main__`. Whatever holds the loop delays the probe by as
long: its lateness is the lag every other user feels. Samples go to
`PROBE_FILE` as `<monotonic start> <lag ms>` lines, twice a second;
CLOCK_MONOTONIC is system-wide, so the bench (`Server.lag`, bench/processes.py)
cuts them into its phases.
"""

from __future__ import annotations

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
            with open(path, "a") as out:
                out.writelines(lines)
            lines.clear()
            flushed = woke


if __name__ == "__main__":
    script = sys.argv[1]
    spawn(probe, os.environ["PROBE_FILE"], float(os.environ.get("PROBE_INTERVAL_MS", "5")) / 1000)
    # As if SCRIPT had been run itself: its folder first on the import path.
    sys.argv = [script]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    runpy.run_path(script, run_name="__main__")
