"""The reader process: `python -m fitness_app.services.imports.child`, one per running import.

Reads requests as JSON lines on stdin and answers on stdout (see `worker.py`,
the server's side). It runs at a lower CPU priority than the server and under
a memory cap, so a hostile or huge file costs this process, never the event
loop: past the cap the reader fails with MemoryError, the file is refused,
and the next file gets a fresh process if this one died.

Requests:
- `{"op": "list", "path", "filename"}` → `{"entries": [...]}` or `{"refused": msg}`
- `{"op": "read", "path", "filename", "entry", "format"}` → any number of
  `{"progress": fraction}`, then `{"parsed": {...}}` or `{"refused": msg}`
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import IO, Any

from fitness_app.services.imports import archive, fit, gpx, tcx
from fitness_app.services.imports.track import Progress, Refused

READERS = {".gpx": gpx.read, ".tcx": tcx.read, ".fit": fit.read}
_out_lock = threading.Lock()


def say(message: dict[str, Any]) -> None:
    line = json.dumps(message) + "\n"
    with _out_lock:
        sys.stdout.write(line)
        sys.stdout.flush()


class Reported(Progress):
    """Progress sent to the server, at most five times a second."""

    def __init__(self) -> None:
        self.last = 0.0
        self.sent_at = 0.0

    def fraction(self, done: float) -> None:
        now = time.monotonic()
        if done > self.last and now - self.sent_at >= 0.2:
            self.last, self.sent_at = done, now
            say({"progress": round(done, 3)})

    @contextmanager
    def during(self, start: float, end: float, expected_seconds: float) -> Iterator[None]:
        """Move from `start` towards `end` with the clock while a library call runs."""
        stop = threading.Event()
        began = time.monotonic()

        def tick() -> None:
            while not stop.wait(0.25):
                share = min(1.0, (time.monotonic() - began) / max(expected_seconds, 0.1))
                self.fraction(start + (end - start) * share)

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        try:
            yield
        finally:
            stop.set()
            ticker.join()


class Uploads:
    """The upload being read, kept open across requests (the expanded-bytes budget with it)."""

    def __init__(self) -> None:
        self.path: str | None = None
        self.file: IO[bytes] | None = None
        self.reader: archive.Reader | None = None

    def reader_for(self, path: str) -> archive.Reader:
        if path != self.path:
            self.close()
            self.file = open(path, "rb")  # noqa: SIM115 - kept open across requests
            self.path, self.reader = path, archive.Reader(self.file)
        return self.reader

    def close(self) -> None:
        if self.reader:
            self.reader.close()
        if self.file:
            self.file.close()
        self.path = self.file = self.reader = None


def handle(request: dict[str, Any], uploads: Uploads) -> dict[str, Any]:
    if request["op"] == "list":
        with open(request["path"], "rb") as stream:
            return {"entries": [asdict(e) for e in archive.entries(stream, request["filename"])]}
    reader = uploads.reader_for(request["path"])
    entry = archive.Entry(request["entry"], request["format"])
    stream, size = reader.open(entry)
    with stream:
        parsed = READERS[entry.format](stream, size, Reported())
    return {"parsed": parsed.as_json()}


def serve(lines: IO[str]) -> None:
    uploads = Uploads()
    for line in lines:
        request = json.loads(line)
        try:
            say(handle(request, uploads))
        except Refused as exc:
            say({"refused": str(exc)})
        except MemoryError:
            say({"refused": "It is too large to read here; refused."})
        except Exception as exc:  # noqa: BLE001 - any reader failure refuses this file only
            traceback.print_exc(file=sys.stderr)
            say({"refused": f"It could not be read ({exc.__class__.__name__})."})
    uploads.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--memory-mb", type=int, default=0)
    parser.add_argument("--nice", type=int, default=10)
    options = parser.parse_args()
    os.nice(options.nice)
    if options.memory_mb:
        limit = options.memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    serve(sys.stdin)


if __name__ == "__main__":
    main()
