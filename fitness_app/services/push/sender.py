"""Sending: a bounded queue, a bounded pool of real OS threads, and what each answer means.

pywebpush is blocking (`requests`), and each message costs an ECDH key
agreement, AES-GCM and an ES256 signature. Under eventlet or gevent that work
would hold the one loop every user shares, so each request runs in a real OS
thread of the server mode's pool, handed over by app.py
(`use_thread_pool`, as `accounts/passwords.py` does); in threading mode (the
`flask` command, tests) the dispatcher's own thread sends. At most
PUSH_CONCURRENCY requests are in flight and at most PUSH_QUEUE_LIMIT wait, so
one slow push service can neither hold the loop nor pile up unbounded work.

Only the request itself runs in the OS thread: it touches no lock, session or
logger that the loop shares (eventlet's green locks cannot be handed between
OS threads). The dispatchers, on the loop's side, read the database, ask
presence and log.

Answers (RFC 8030): 201 sent; 404/410 the service forgot the device, which is
deleted; 429 and 5xx (and a connection that failed) are tried again with
exponential backoff, honouring `Retry-After`, never sooner than a second after
the last try of that device, until the notification is older than its TTL;
403 (our VAPID key or subject refused), 413 and other 4xx are our errors:
logged, nothing deleted.

pywebpush's defaults are unsafe (FIELD-NOTES.md): every call passes an
explicit TTL, a timeout and an `Urgency`. The VAPID signature (an ES256
signature, about a fifth of a message's CPU) is made from a fresh claims dict per
push service (pywebpush and py-vapid write `aud` and `exp` into the dict they
are given) and reused for that service until half its 12 hours are gone, as
RFC 8292 allows; pywebpush is then given the header, not the claims.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from pywebpush import WebPushException, webpush

from fitness_app.services.push.keys import VapidKeys

log = logging.getLogger(__name__)

ThreadPoolRunner = Callable[..., Any]
_run_in_thread: ThreadPoolRunner | None = None

# How long a signature is good for: RFC 8292 allows at most 24 hours.
CLAIMS_LIFETIME = 12 * 3600
MAX_BACKOFF = 15 * 60
MIN_RETRY_GAP = 1.0
# The status of an Answer when sending raised something unexpected (logged, not retried).
UNEXPECTED = -1


def use_thread_pool(run: ThreadPoolRunner) -> None:
    """Send through `run(fn, *args)`, which must block only the calling green thread (app.py)."""
    global _run_in_thread
    _run_in_thread = run


@dataclass(order=True)
class Push:
    """One message to one device."""

    due: float
    device_id: str = field(compare=False)
    endpoint: str = field(compare=False)
    p256dh: str = field(compare=False)
    auth: str = field(compare=False)
    payload: bytes = field(compare=False)
    urgency: str = field(compare=False)
    # Wall-clock second after which the message is no use (created + TTL).
    expires: float = field(compare=False)
    attempt: int = field(default=0, compare=False)
    # Released when done: a broadcast's slot (sender.Sender.broadcast_slots).
    slot: Any = field(default=None, compare=False)


@dataclass(frozen=True)
class Answer:
    """What the push service said: a status (0: no answer) and its Retry-After, if any."""

    status: int
    retry_after: str | None = None
    detail: str = ""


_signatures: dict[tuple[str, str], tuple[float, str]] = {}


def vapid_authorization(keys: VapidKeys, audience: str, now: float) -> str:
    """`vapid t=…, k=…` for one push service, signed again once half its lifetime is gone.

    A plain dict shared by the OS threads: a lookup and a store are atomic,
    and two threads that sign at once merely sign twice.
    """
    cached = _signatures.get((keys.public_key, audience))
    if cached is not None and cached[0] - now > CLAIMS_LIFETIME / 2:
        return cached[1]
    claims = {"sub": keys.subject, "aud": audience, "exp": int(now) + CLAIMS_LIFETIME}
    header = keys.vapid.sign(claims)["Authorization"]
    _signatures[(keys.public_key, audience)] = (claims["exp"], header)
    return header


def send_all(pushes: list[Push], keys: VapidKeys, ttl: int, timeout: float) -> list[Answer]:
    """`send` for each push in turn: one trip to the OS thread for a batch."""
    return [send(push, keys, ttl, timeout) for push in pushes]


def send(push: Push, keys: VapidKeys, ttl: int, timeout: float) -> Answer:
    """Encrypt, sign and POST one push. Runs in an OS thread: pure, no shared lock, no logging."""
    url = urlsplit(push.endpoint)
    authorization = vapid_authorization(keys, f"{url.scheme}://{url.netloc}", time.time())
    try:
        response = webpush(
            subscription_info={"endpoint": push.endpoint,
                               "keys": {"p256dh": push.p256dh, "auth": push.auth}},
            data=push.payload,
            content_encoding="aes128gcm",
            ttl=ttl,
            timeout=timeout,
            headers={"Authorization": authorization, "Urgency": push.urgency},
            requests_session=_session(),
        )
    except WebPushException as exc:
        if exc.status_code is None:
            return Answer(0, None, str(exc.message))
        return Answer(exc.status_code, exc.retry_after, str(exc.message)[:300])
    except (requests.RequestException, OSError) as exc:
        return Answer(0, None, f"{type(exc).__name__}: {exc}"[:300])
    except Exception as exc:  # noqa: BLE001 - our bug, not the service's: judged as refused
        return Answer(UNEXPECTED, None, f"{type(exc).__name__}: {exc}"[:300])
    return Answer(response.status_code)


_local = threading.local()


def _session() -> requests.Session:
    """One keep-alive session per OS thread: connections to a push service are reused."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def retry_delay(answer: Answer, attempt: int, now: float) -> float:
    """Seconds before the next try: Retry-After when given, else 1, 2, 4 … up to 15 minutes."""
    delay = float(min(2 ** attempt, MAX_BACKOFF))
    if answer.retry_after:
        value = answer.retry_after.strip()
        if value.isdigit():
            delay = float(value)
        else:
            try:
                delay = parsedate_to_datetime(value).timestamp() - now
            except (TypeError, ValueError):
                pass
    return max(MIN_RETRY_GAP, delay)


class Retries:
    """Pushes waiting to be tried again, in due order, at most one a second per device."""

    def __init__(self, limit: int) -> None:
        self._heap: list[Push] = []
        self._next_slot: dict[str, float] = {}
        self._limit = limit

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, push: Push, due: float) -> bool:
        """Schedule a retry; False when the queue of retries is full (the push is dropped)."""
        if len(self._heap) >= self._limit:
            return False
        due = max(due, self._next_slot.get(push.device_id, 0.0))
        self._next_slot[push.device_id] = due + MIN_RETRY_GAP
        push.due = due
        heapq.heappush(self._heap, push)
        return True

    def due(self, now: float) -> list[Push]:
        """Take the retries whose time has come."""
        ready = []
        while self._heap and self._heap[0].due <= now:
            ready.append(heapq.heappop(self._heap))
        if not self._heap:
            self._next_slot.clear()
        return ready


@dataclass
class Outcomes:
    """What the dispatchers learned, written to the database in batches."""

    reached: set[str] = field(default_factory=set)
    forgotten: set[str] = field(default_factory=set)

    def take(self) -> tuple[set[str], set[str]]:
        reached, forgotten = self.reached, self.forgotten
        self.reached, self.forgotten = set(), set()
        return reached - forgotten, forgotten


def judge(push: Push, answer: Answer, retries: Retries, outcomes: Outcomes, now: float) -> str:
    """Act on one answer; returns what happened, for the log and the tests."""
    if 200 <= answer.status < 300:
        outcomes.reached.add(push.device_id)
        return "sent"
    if answer.status in (404, 410):
        outcomes.forgotten.add(push.device_id)
        return "forgotten"
    if answer.status == 0 or answer.status == 429 or answer.status >= 500:
        due = now + retry_delay(answer, push.attempt, now)
        if due > push.expires:
            log.warning("push to device %s given up after %d tries: %s %s",
                        push.device_id, push.attempt + 1, answer.status, answer.detail)
            return "expired"
        push.attempt += 1
        if not retries.add(push, due):
            log.warning("push retry queue full; dropped a retry for device %s", push.device_id)
            return "dropped"
        return "retry"
    # 400, 403 (our VAPID key or subject refused), 413 (payload too large): our bug.
    log.error("push service refused our request for device %s: %s %s",
              push.device_id, answer.status, answer.detail)
    return "refused"


def run_send(pushes: list[Push], keys: VapidKeys, ttl: int, timeout: float) -> list[Answer]:
    """`send_all` in the server's OS thread pool, or right here in threading mode."""
    if _run_in_thread is None:
        return send_all(pushes, keys, ttl, timeout)
    return _run_in_thread(send_all, pushes, keys, ttl, timeout)
