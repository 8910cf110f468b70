"""Imports against issue 21's targets: a Strava-like export of 1,000 GPX files, and one 40 MB GPX.

    .venv/bin/python -m bench.imports [--files 1000] [--points 3600] [--big-mb 40]

Standalone (not in `make bench`, which stays near ten minutes). It starts the
app as `make run` does (eventlet, SQLite, with bench/probed.py's loop-lag
probe), signs up an importer and another user, and then, for each case:

- a baseline: the other user GETs the dashboard ten times a second for
  BASELINE seconds, nothing else running;
- the import: the importer uploads (in parts of at most 50 MB, the upload
  cap) over HTTP with the CSRF token, as the browser does, while the other
  user keeps loading the dashboard and a Socket.IO client of the importer's
  counts `import_progress` and waits for `import_finished`.

It prints, per case: wall time from the first upload to the last
`import_finished`, files per second, the server's peak RSS growth, the reader
process's peak RSS, server and reader CPU seconds, loop lag (p99, max) and the
other user's HTTP p50/p99/max, baseline beside import, and the longest gap
between progress events. Then "where the time goes": each reader phase timed
in this process over a sample of the same files.

Every request goes to 127.0.0.1; every phase has a deadline.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import math
import os
import random
import re
import subprocess
import tempfile
import threading
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import socketio

from bench.processes import ROOT, VENV_BIN, Server, log, proc_cpu_seconds, proc_rss_bytes
from deploy.processes import wait_until

UPLOAD_CAP = 50 * 1024 * 1024 - 256 * 1024  # room for the form's other parts
BASELINE = 15.0
START = datetime(2016, 1, 4, 6, 30, tzinfo=UTC)


def track(points: int, start: datetime, seed: int) -> bytes:
    """A run as a watch records it: a point a second, GPS noise, a hill, a name and a type."""
    rng = random.Random(seed)
    lat, lon, ele = 48.80 + rng.random() / 10, 2.25 + rng.random() / 10, 40.0
    heading = rng.random() * 6.283
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<gpx creator="StravaGPX" version="1.1" '
           f'xmlns="http://www.topografix.com/GPX/1/1"><metadata><time>{start:%Y-%m-%dT%H:%M:%SZ}'
           f'</time></metadata><trk><name>Morning Run</name><type>running</type><trkseg>\n']
    for i in range(points):
        heading += rng.gauss(0, 0.05)
        lat += 2.8e-5 * math.cos(heading) + rng.gauss(0, 2e-6)
        lon += 4.2e-5 * math.sin(heading) + rng.gauss(0, 2e-6)
        ele += rng.gauss(0, 0.3)
        moment = start + timedelta(seconds=i)
        out.append(f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"><ele>{ele:.1f}</ele>'
                   f"<time>{moment:%Y-%m-%dT%H:%M:%SZ}</time></trkpt>\n")
    out.append("</trkseg></trk></gpx>\n")
    return "".join(out).encode()


def export_parts(workdir: Path, files: int, points: int) -> list[Path]:
    """A Strava-like export (activities/NNN.gpx.gz beside a CSV), split to fit the upload cap."""
    parts: list[Path] = []
    current: zipfile.ZipFile | None = None
    path: Path | None = None
    for i in range(files):
        if current is None:
            path = workdir / f"export_part{len(parts) + 1}.zip"
            current = zipfile.ZipFile(path, "w", zipfile.ZIP_STORED)
            current.writestr("activities.csv", "Activity ID,Activity Date,Activity Name\n")
        content = gzip.compress(track(points, START + timedelta(days=i, hours=i % 5), i), 6)
        current.writestr(f"activities/{10_000 + i}.gpx.gz", content)
        if path.stat().st_size + len(content) > UPLOAD_CAP - 2 * 2**20:
            current.close()
            parts.append(path)
            current = None
    if current is not None:
        current.close()
        parts.append(path)
    return parts


class Others:
    """The other user: GET the dashboard ten times a second, timing each answer."""

    def __init__(self, base: str, session: requests.Session) -> None:
        self.base, self.session = base, session
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            began = time.monotonic()
            self.session.get(f"{self.base}/", timeout=30)
            took = time.monotonic() - began
            self.samples.append((began, took * 1000))
            self.stop.wait(max(0.0, 0.1 - took))

    def between(self, start: float, end: float) -> dict[str, Any]:
        values = sorted(ms for at, ms in self.samples if start <= at <= end)
        if not values:
            return {"n": 0}
        pick = lambda q: round(values[min(len(values) - 1, int(q * len(values)))], 1)  # noqa: E731
        return {"n": len(values), "p50": pick(0.5), "p99": pick(0.99), "max": round(values[-1], 1)}


def register(base: str, name: str) -> requests.Session:
    session = requests.Session()
    token = _token(session, f"{base}/auth/register")
    response = session.post(f"{base}/auth/register", allow_redirects=False, timeout=30, data={
        "csrf_token": token, "username": name, "email": f"{name}@example.com",
        "password": "bench-password", "confirm": "bench-password"})
    assert response.status_code == 302, response.text[:300]
    return session


def _token(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=30).text
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


class Watch:
    """The server's RSS and its reader processes' RSS and CPU, sampled twice a second."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_rss = proc_rss_bytes(pid)
        self.reader_rss = 0
        self.reader_cpu: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            self.peak_rss = max(self.peak_rss, proc_rss_bytes(self.pid))
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children")
            for child in (children.read_text().split() if children.exists() else []):
                try:
                    self.reader_rss = max(self.reader_rss, proc_rss_bytes(int(child)))
                    self.reader_cpu[int(child)] = proc_cpu_seconds(int(child))
                except (OSError, ValueError):
                    continue


def run_case(server: Server, importer: requests.Session, others: Others,
             uploads: list[Path], files: int) -> dict[str, Any]:
    finished: list[dict[str, Any]] = []
    progress_at: list[float] = []
    client = socketio.Client(reconnection=False)
    client.on("import_progress", lambda data: progress_at.append(time.monotonic()))
    client.on("notification", lambda n: finished.append(n) if n["kind"] == "import_finished"
              else None)
    cookie = "; ".join(f"{c.name}={c.value}" for c in importer.cookies)
    client.connect(server.url, headers={"Cookie": cookie}, transports=["websocket"])

    base_start = time.monotonic()
    time.sleep(BASELINE)
    base_end = time.monotonic()

    watch = Watch(server.pid)
    rss_before = proc_rss_bytes(server.pid)
    cpu_before = server.cpu_seconds()
    watch.thread.start()
    start = time.monotonic()
    for path in uploads:
        with path.open("rb") as handle:
            response = importer.post(
                f"{server.url}/workouts/import", allow_redirects=False, timeout=120,
                data={"csrf_token": _token(importer, f"{server.url}/workouts/import")},
                files={"file": (path.name, handle, "application/zip")})
        assert response.status_code == 303, response.text[:300]
    wait_until(lambda: len(finished) >= len(uploads), timeout=3600, interval=0.2,
               message="every import_finished")
    end = time.monotonic()
    watch.stop.set()
    watch.thread.join()
    client.disconnect()
    gaps = [b - a for a, b in zip(progress_at, progress_at[1:], strict=False)]
    added = sum(n["data"]["added"] for n in finished)
    return {
        "files": files, "uploads": len(uploads),
        "upload_mb": round(sum(p.stat().st_size for p in uploads) / 2**20, 1),
        "seconds": round(end - start, 1), "files_per_second": round(files / (end - start), 2),
        "added": added, "refused": sum(n["data"]["refused"] for n in finished),
        "server_rss_growth_mb": round((watch.peak_rss - rss_before) / 2**20, 1),
        "reader_peak_rss_mb": round(watch.reader_rss / 2**20, 1),
        "server_cpu_s": round(server.cpu_seconds() - cpu_before, 1),
        "reader_cpu_s": round(sum(watch.reader_cpu.values()), 1),
        "loop_lag_ms": {"baseline": server.lag(base_start, base_end),
                        "import": server.lag(start, end)},
        "others_http_ms": {"baseline": others.between(base_start, base_end),
                           "import": others.between(start, end)},
        "progress_events": len(progress_at),
        "longest_progress_gap_s": round(max(gaps), 2) if gaps else None,
    }


def where_time_goes(files: int, points: int) -> dict[str, float]:
    """Each reader phase, in ms of CPU per file (process time: true on a busy machine too)."""
    import gpxpy

    from fitness_app.services.imports import gpx, xmlsafe
    from fitness_app.services.imports.track import Progress

    phases = {"defusedxml pass": 0.0, "gpxpy.parse": 0.0, "figures (gpxpy)": 0.0,
              "simplify + encode": 0.0, "json to server": 0.0}
    for i in range(files):
        content = track(points, START + timedelta(days=i), i)
        t0 = time.process_time()
        xmlsafe.count_points(io.BytesIO(content), len(content), "gpx", "trkpt", Progress(), 0.2)
        t1 = time.process_time()
        parsed_gpx = gpxpy.parse(content.decode())
        t2 = time.process_time()
        parsed_gpx.get_moving_data()
        parsed_gpx.length_2d()
        parsed_gpx.get_uphill_downhill()
        t3 = time.process_time()
        parsed = gpx.read(io.BytesIO(content), len(content), Progress())
        t4 = time.process_time()
        json.dumps(parsed.as_json())
        t5 = time.process_time()
        phases["defusedxml pass"] += t1 - t0
        phases["gpxpy.parse"] += t2 - t1
        phases["figures (gpxpy)"] += t3 - t2
        # gpx.read runs all the phases again; what it adds is the route.
        phases["simplify + encode"] += max(0.0, (t4 - t3) - (t3 - t0))
        phases["json to server"] += t5 - t4
    return {name: round(1000 * total / files, 1) for name, total in phases.items()}


def thread_or_process(points: int, seconds: float = 4.0) -> dict[str, Any]:
    """Why a process: a loop's lag and rounds while gpxpy parses in a thread, then in a process.

    The "loop" sleeps 5 ms and does 1 ms of Python work per round, as a request
    would; side by side, idle first.
    """
    import hashlib
    import sys

    import gpxpy

    text = track(points, START, 1).decode()
    path = Path(tempfile.mkstemp(suffix=".gpx")[1])
    path.write_text(text)

    def rounds() -> dict[str, Any]:
        lags, count = [], 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            began = time.monotonic()
            time.sleep(0.005)
            lags.append((time.monotonic() - began - 0.005) * 1000)
            work = time.perf_counter()
            while time.perf_counter() - work < 0.001:
                hashlib.sha256(b"request").digest()
            count += 1
        lags.sort()
        return {"lag_p99_ms": round(lags[int(0.99 * len(lags))], 1),
                "lag_max_ms": round(lags[-1], 1), "rounds_per_s": round(count / seconds)}

    result = {"idle": rounds()}
    stop = threading.Event()
    parser = threading.Thread(target=lambda: [gpxpy.parse(text) for _ in iter(stop.is_set, True)])
    parser.start()
    result["gpxpy in a thread"] = rounds()
    stop.set()
    parser.join()
    child = subprocess.Popen([sys.executable, "-c", "import gpxpy, sys\n"
                              "t = open(sys.argv[1]).read()\nwhile True: gpxpy.parse(t)",
                              str(path)])
    time.sleep(1)
    result["gpxpy in a process"] = rounds()
    child.kill()
    child.wait()
    path.unlink()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--points", type=int, default=3600)
    parser.add_argument("--big-mb", type=int, default=40)
    parser.add_argument("--cases", default="export,big,gil")
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-imports-"))
    log(f"workdir {workdir}")
    database = f"sqlite:///{workdir / 'bench.db'}"
    env = {"DATABASE_URL": database, "INSTANCE_PATH": str(workdir / "instance"),
           "ASYNC_MODE": "eventlet"}
    subprocess.run([str(VENV_BIN / "flask"), "--app", "fitness_app", "db", "upgrade"],
                   cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True)
    server = Server("app", workdir, "imports", env)
    server.start()
    results: dict[str, Any] = {}
    try:
        other = register(server.url, "other")
        others = Others(server.url, other)
        others.thread.start()
        if "export" in options.cases:
            log(f"building a {options.files}-file export")
            parts = export_parts(workdir, options.files, options.points)
            log(f"importing {len(parts)} upload(s)")
            results["export"] = run_case(server, register(server.url, "runner"), others,
                                         parts, options.files)
            log(json.dumps(results["export"]))
        if "big" in options.cases:
            points = options.big_mb * 2**20 // 104
            big = workdir / "big.gpx"
            big.write_bytes(track(points, START + timedelta(days=5000), 7))
            log(f"importing one {big.stat().st_size / 2**20:.1f} MB GPX ({points:,} points)")
            results["big"] = run_case(server, register(server.url, "ultra"), others, [big], 1)
            log(json.dumps(results["big"]))
        others.stop.set()
        results["where_the_time_goes_ms_per_file"] = where_time_goes(20, options.points)
        if "gil" in options.cases:
            results["thread_or_process"] = thread_or_process(options.points)
    finally:
        server.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
