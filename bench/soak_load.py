"""The soak's clients: people with an open socket each, and a steady stream of workouts.

Each person is signed in through the real form on one worker and keeps one
Socket.IO connection to that worker (as nginx's ip_hash keeps a browser on
one), reconnecting as the page does: python-socketio's `AsyncClient` with the
browser client's delays (1 s doubling to 5 s, ±50 %), sending `auth.last_id`,
the highest id received so far, on every (re)connect. A refusal with
"unavailable" is retried like a lost connection.

Workouts are POSTed at a fixed rate by random people to a random worker; when
that worker refuses the TCP connection (killed, restarting) the POST goes to
the other one, as nginx's `proxy_next_upstream` does. Every answer, every
event and every acknowledgement is recorded with its time; soak_report.py
judges them against the database afterwards.

Streams (the workouts, the `mark_read` calls) are independent coroutines
over the same people: a new feature's traffic (push devices, imports) is one
more stream in `Load.streams`.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import aiohttp
import socketio
from yarl import URL

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
NOTHING_SENT = (aiohttp.ClientConnectorError,)  # refused: the request never left


@dataclass
class Post:
    """One workout POST: what was sent, where, and what came back."""

    title: str
    user: int
    sent_at: float
    worker: int | None = None
    status: int | None = None  # None: no answer (the worker died with it)
    answered_at: float | None = None
    error: str = ""


@dataclass
class Person:
    """One signed-in browser: an HTTP session and a socket on its home worker."""

    index: int
    user_id: int
    email: str
    home: int
    transport: str
    http: aiohttp.ClientSession | None = None
    csrf: str = ""
    sio: socketio.AsyncClient | None = None
    received: dict[int, float] = field(default_factory=dict)  # id -> first arrival
    duplicates: int = 0
    connects: list[float] = field(default_factory=list)
    disconnects: list[float] = field(default_factory=list)
    refusals: Counter[str] = field(default_factory=Counter)

    @property
    def last_id(self) -> int:
        return max(self.received, default=0)


class Load:
    """Every person, the records of what they saw, and the streams that drive them."""

    def __init__(self, urls: list[str], accounts: list[tuple[int, str]], password: str,
                 rate: float, polling_share: float = 0.2, seed: int = 22) -> None:
        self.urls = urls
        self.password = password
        self.rate = rate
        self.random = random.Random(seed)
        self.people = [
            Person(index=i, user_id=uid, email=email, home=i % len(urls),
                   transport="polling" if i % round(1 / polling_share) == 0 else "websocket")
            for i, (uid, email) in enumerate(accounts)
        ]
        self.posts: list[Post] = []
        self.acks: list[tuple[float, str]] = []  # (time, "ok" | error)
        self.statuses: Counter[int] = Counter()  # every HTTP answer of the run
        self.deadline = 0.0
        self._titles = itertools.count(1)
        self.streams = [self.workouts, self.mark_reads]

    # --- setting up -------------------------------------------------------------------

    async def sign_in_all(self, concurrency: int = 8) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one(person: Person) -> None:
            async with gate:
                await self.sign_in(person)
                await self.connect(person)

        await asyncio.gather(*(one(p) for p in self.people))

    async def sign_in(self, person: Person) -> None:
        """The login form, then the workout form's CSRF token (good on every worker)."""
        person.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                            timeout=aiohttp.ClientTimeout(total=30))
        base = self.urls[person.home]
        token = await self._token(person, f"{base}/auth/login")
        async with person.http.post(
            f"{base}/auth/login", allow_redirects=False,
            data={"csrf_token": token, "email": person.email, "password": self.password},
        ) as answer:
            if answer.status != 302:
                raise RuntimeError(f"sign-in of {person.email} answered {answer.status}")
        person.csrf = await self._token(person, f"{base}/workouts/new")

    async def _token(self, person: Person, url: str) -> str:
        async with person.http.get(url) as page:
            match = CSRF.search(await page.text())
        if match is None:
            raise RuntimeError(f"no CSRF token on {url}")
        return match.group(1)

    async def connect(self, person: Person) -> None:
        client = socketio.AsyncClient(reconnection_delay=1, reconnection_delay_max=5,
                                      randomization_factor=0.5)
        person.sio = client

        async def on_notification(payload: dict[str, Any]) -> None:
            if payload["id"] in person.received:
                person.duplicates += 1
            else:
                person.received[payload["id"]] = time.monotonic()

        async def on_connect() -> None:
            person.connects.append(time.monotonic())

        async def on_disconnect(reason: Any = None) -> None:
            person.disconnects.append(time.monotonic())

        async def on_connect_error(data: Any) -> None:
            # The server's refusals carry a message; a worker that is down, none.
            message = data.get("message") if isinstance(data, dict) else None
            person.refusals[f"refused: {message}" if message else "no server"] += 1

        client.on("notification", on_notification)
        client.on("connect", on_connect)
        client.on("disconnect", on_disconnect)
        client.on("connect_error", on_connect_error)
        cookies = person.http.cookie_jar.filter_cookies(URL(self.urls[person.home]))
        cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items())
        await client.connect(
            self.urls[person.home], transports=[person.transport], wait_timeout=20,
            # A callable, so every reconnect gets a dict of its own: python-engineio's
            # WebSocket connect deletes the Cookie header from the dict it is given,
            # and a reconnect with the same dict would arrive signed out.
            headers=lambda: {"Cookie": cookie},
            auth=lambda: {"last_id": person.last_id}, retry=True,
        )

    async def close(self) -> None:
        """Every socket and session at once, for at most 5 s: a polling goodbye waits
        for the long poll in flight, up to a ping interval, and the workers stop next."""
        sockets = [p.sio.disconnect() for p in self.people if p.sio is not None]
        await asyncio.wait([asyncio.ensure_future(s) for s in sockets] or [asyncio.sleep(0)],
                           timeout=5)
        for person in self.people:
            if person.http is not None:
                await person.http.close()

    # --- streams ----------------------------------------------------------------------

    async def run(self, seconds: float) -> None:
        """Every stream for `seconds` (or until `extend` says); POSTs in flight are awaited."""
        self.deadline = time.monotonic() + seconds
        await asyncio.gather(*(stream() for stream in self.streams))

    def extend(self, until: float) -> None:
        """Keep the load going at least until `until` (a monotonic time)."""
        self.deadline = max(self.deadline, until)

    async def workouts(self) -> None:
        """`rate` completed workouts a second, each as its own task so a slow one delays none."""
        tasks = []
        step = 1 / self.rate
        next_at = time.monotonic()
        while next_at < self.deadline:
            tasks.append(asyncio.create_task(self.post_workout(self.random.choice(self.people))))
            next_at += step
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        await asyncio.gather(*tasks)

    async def post_workout(self, person: Person) -> None:
        post = Post(title=f"soak-{next(self._titles)}", user=person.user_id,
                    sent_at=time.monotonic())
        self.posts.append(post)
        first = self.random.randrange(len(self.urls))
        data = {"csrf_token": person.csrf, "title": post.title, "activity": "run",
                "duration_minutes": str(self.random.randint(20, 90)),
                "distance_km": f"{self.random.uniform(3, 15):.1f}",
                "performed_on": date.today().isoformat(), "completed": "y"}
        for worker in (first, *(w for w in range(len(self.urls)) if w != first)):
            post.worker = worker
            try:
                async with person.http.post(f"{self.urls[worker]}/workouts/new", data=data,
                                            allow_redirects=False) as answer:
                    post.status, post.answered_at = answer.status, time.monotonic()
                    self.statuses[answer.status] += 1
                    await answer.read()
                return
            except NOTHING_SENT as error:
                post.error = type(error).__name__
                continue  # nothing reached that worker: the next one gets it, as with nginx
            except (TimeoutError, aiohttp.ClientError) as error:
                post.error = type(error).__name__  # sent, then lost: outcome unknown
                return

    async def mark_reads(self, every: float = 10.0) -> None:
        """Each person marks their newest notification read about every `every` seconds."""
        pause = every / max(1, len(self.people))
        while time.monotonic() < self.deadline:
            for person in self.people:
                if time.monotonic() >= self.deadline:
                    return
                if person.received and person.sio.connected:
                    asyncio.create_task(self._mark_read(person))
                await asyncio.sleep(pause)

    async def _mark_read(self, person: Person) -> None:
        try:
            ack = await person.sio.call("mark_read", {"id": person.last_id}, timeout=15)
            outcome = "ok" if ack.get("ok") else str(ack.get("error"))
        except socketio.exceptions.TimeoutError:
            outcome = "no answer in 15 s"
        except socketio.exceptions.BadNamespaceError:
            outcome = "socket closed before the call"
        self.acks.append((time.monotonic(), outcome))

    async def settle(self, expected: dict[int, set[int]], timeout: float) -> float:
        """Wait until each person holds every id expected for them; return the wait."""
        began = time.monotonic()
        by_user = {p.user_id: p for p in self.people}
        while time.monotonic() - began < timeout:
            if all(ids <= by_user[uid].received.keys() for uid, ids in expected.items()):
                break
            await asyncio.sleep(0.2)
        return time.monotonic() - began
