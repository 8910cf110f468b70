"""Per-user figures on a fresh and an aged database, a socket flood, and 20 sign-ins at once.

Driven from Python (`requests` and python-socketio's threaded client), which
is fine here: each scenario uses a handful of sockets, where the client's own
cost (FIELD-NOTES: it only hurts at thousands) does not matter.

- `user_figures`: for one user, POST → event p50, server CPU per POST,
  connect → `unread_count`, and dashboard render, sampled alternately on two
  servers (fresh and aged database), in a shuffled order each round, so
  machine noise hits both alike.
- `flood`: one socket sends 10,000 `mark_read` events as fast as it can while
  another user keeps asking for small things: `/api/notifications`, a
  `mark_read` ack, and a workout POST timed to its notification.
- `sign_ins`: 20 sign-ins with real password hashes at once, same observer.
"""

from __future__ import annotations

import random
import re
import statistics
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date
from typing import Any

import requests
import socketio

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def summary(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50": percentile(values, 50), "p99": percentile(values, 99),
            "max": max(values) if values else None}


class User:
    """A signed-in HTTP session and, once `connect` ran, its socket."""

    def __init__(self, base: str, email: str, password: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.events: dict[str, threading.Event] = {}
        self.waiting: dict[str, tuple[float, list[float]]] = {}
        self.unread_at: float | None = None
        self.sio: socketio.Client | None = None
        self.csrf = self._sign_in(email, password)

    def _sign_in(self, email: str, password: str) -> str:
        page = self.http.get(f"{self.base}/auth/login", timeout=30).text
        token = CSRF.search(page).group(1)
        res = self.http.post(f"{self.base}/auth/login", timeout=60, allow_redirects=False,
                             data={"email": email, "password": password, "csrf_token": token})
        if res.status_code != 302:
            raise RuntimeError(f"sign-in of {email} failed: {res.status_code}")
        return CSRF.search(self.http.get(f"{self.base}/workouts/new", timeout=30).text).group(1)

    def connect(self) -> float:
        """Open the socket; seconds from connect() to its first `unread_count`."""
        got = threading.Event()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("unread_count", lambda payload: got.set())
        self.sio.on("notification", self._on_notification)
        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        start = time.monotonic()
        self.sio.connect(self.base, headers={"Cookie": cookie}, transports=["websocket"],
                         wait_timeout=20)
        if not got.wait(20):
            raise RuntimeError("no unread_count after connect")
        return time.monotonic() - start

    def _on_notification(self, payload: dict[str, Any]) -> None:
        match = re.match(r"(\S+),", payload.get("message", ""))
        if match and match.group(1) in self.waiting:
            start, out = self.waiting.pop(match.group(1))
            out.append(time.monotonic() - start)
            self.events[match.group(1)].set()

    def close(self) -> None:
        if self.sio is not None:
            self.sio.disconnect()
            self.sio = None

    def post_workout(self, tag: str, out: list[float], timeout: float = 10) -> None:
        """POST a completed workout; append seconds until its notification arrived."""
        self.events[tag] = threading.Event()
        self.waiting[tag] = (time.monotonic(), out)
        # Not through the session: the response's cookie adds a flash, which a
        # browser shows (and drops) on the page it is sent to next. This client
        # never fetches that page, so it keeps the cookie it had, as bench/client.js
        # does; otherwise each POST would carry every earlier flash.
        res = requests.post(f"{self.base}/workouts/new", timeout=60, allow_redirects=False,
                            cookies=self.http.cookies, data={
            "title": tag, "activity": "run", "duration_minutes": "30", "distance_km": "5",
            "performed_on": date.today().isoformat(), "completed": "y",
            "csrf_token": self.csrf})
        if res.status_code != 302:
            raise RuntimeError(f"workout POST failed: {res.status_code}")
        self.events[tag].wait(timeout)
        self.events.pop(tag, None)
        self.waiting.pop(tag, None)

    def timed_get(self, path: str) -> float:
        start = time.monotonic()
        res = self.http.get(f"{self.base}{path}", timeout=60)
        if res.status_code != 200:
            raise RuntimeError(f"GET {path}: {res.status_code}")
        return time.monotonic() - start

    def timed_ack(self) -> float:
        start = time.monotonic()
        self.sio.call("mark_read", {"id": 2**31 - 1}, timeout=30)
        return time.monotonic() - start


_tags = iter(range(10**9))


def tag() -> str:
    return f"t{next(_tags)}"


def user_figures(servers: dict[str, Any], people: dict[str, User], cpu: Callable[[str], float],
                 rounds: int) -> dict[str, dict[str, Any]]:
    """The four per-user figures, one sample per server per round, alternating."""
    out: dict[str, dict[str, list[float]]] = {
        key: {"event": [], "cpu": [], "connect": [], "dashboard": []} for key in people}
    for person in people.values():
        person.connect()
    # A fresh order each round: the sample taken right after another
    # server's POST pays for that server's after-work on the shared cores.
    order = random.Random(1)
    for _ in range(rounds):
        for key, person in order.sample(list(people.items()), len(people)):
            before = cpu(key)
            person.post_workout(tag(), out[key]["event"])
            out[key]["cpu"].append(cpu(key) - before)
            out[key]["dashboard"].append(person.timed_get("/"))
    for person in people.values():
        person.close()
    for _ in range(max(10, rounds // 5)):
        for key, person in people.items():
            out[key]["connect"].append(person.connect())
            person.close()
    return {key: {"eventP50Ms": 1000 * statistics.median(v["event"]) if v["event"] else None,
                  # /proc counts CPU in 10 ms ticks: the mean over every POST, not a median.
                  "cpuPerPostMs": 1000 * sum(v["cpu"]) / len(v["cpu"]),
                  "connectToUnreadMs": 1000 * statistics.median(v["connect"]),
                  "dashboardMs": 1000 * statistics.median(v["dashboard"]),
                  "eventsMissed": rounds - len(v["event"])}
            for key, v in out.items()}


@contextmanager
def observed(observer: User, period: float = 0.02):
    """While the block runs, time the observer's requests, acks and notifications."""
    figures: dict[str, list[float]] = {"http": [], "ack": [], "notification": []}
    stop = threading.Event()

    def http_and_ack() -> None:
        while not stop.is_set():
            figures["http"].append(observer.timed_get("/api/notifications?after=2147483647"))
            figures["ack"].append(observer.timed_ack())
            stop.wait(period)

    def notes() -> None:
        while not stop.is_set():
            observer.post_workout(tag(), figures["notification"], timeout=30)
            stop.wait(period * 5)

    threads = [threading.Thread(target=http_and_ack), threading.Thread(target=notes)]
    for thread in threads:
        thread.start()
    result: dict[str, Any] = {}
    try:
        yield result
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    for name, values in figures.items():
        result[name] = {k: (v * 1000 if isinstance(v, float) else v)
                        for k, v in summary(values).items()}


def flood(flooder: User, observer: User, events: int) -> dict[str, Any]:
    """One socket sends `events` mark_read events as fast as it can."""
    acks: dict[str, int] = {}
    lock = threading.Lock()

    def on_ack(reply: Any = None) -> None:
        key = "ok" if isinstance(reply, dict) and reply.get("ok") else (
            str(reply.get("error")) if isinstance(reply, dict) else "no reply")
        with lock:
            acks[key] = acks.get(key, 0) + 1

    flooder.connect()
    disconnected = threading.Event()
    flooder.sio.on("disconnect", lambda *args: disconnected.set())
    sent = 0
    with observed(observer) as figures:
        time.sleep(0.5)
        start = time.monotonic()
        for _ in range(events):
            if disconnected.is_set():
                break
            try:
                flooder.sio.emit("mark_read", {"id": 1}, callback=on_ack)
            except socketio.exceptions.BadNamespaceError:
                break
            sent += 1
        send_seconds = time.monotonic() - start
        disconnected.wait(10)
        time.sleep(2)
    flooder.close()
    return {"sent": sent, "sendSeconds": send_seconds, "acks": acks,
            "disconnected": disconnected.is_set(), "observer": figures}


def sign_ins(base: str, accounts: list[tuple[str, str]], observer: User) -> dict[str, Any]:
    """Every account signs in at the same moment, through the real form."""
    barrier = threading.Barrier(len(accounts))
    seconds: list[float] = []
    failures: list[str] = []

    def one(email: str, password: str) -> None:
        http = requests.Session()
        token = CSRF.search(http.get(f"{base}/auth/login", timeout=30).text).group(1)
        barrier.wait(30)
        start = time.monotonic()
        res = http.post(f"{base}/auth/login", timeout=120, allow_redirects=False,
                        data={"email": email, "password": password, "csrf_token": token})
        seconds.append(time.monotonic() - start)
        if res.status_code != 302:
            failures.append(str(res.status_code))

    with observed(observer) as figures:
        time.sleep(0.5)
        threads = [threading.Thread(target=one, args=account) for account in accounts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(180)
        time.sleep(0.5)
    return {"signIns": len(accounts), "failures": failures,
            "signInMs": {k: (v * 1000 if isinstance(v, float) else v)
                         for k, v in summary(seconds).items()},
            "observer": figures}
