"""A token bucket per connection for client → server events.

python-socketio has no per-connection rate limit and Flask-Limiter covers
HTTP routes only, so the few lines of a token bucket live here. Events run
with `async_handlers=False` (see `fitness_app/__init__.py`): each
connection's events are handled one at a time, in order, by its own reader,
so a flood fills that connection's buffers instead of spawning a task per
event; the bucket then refuses the excess for the cost of an ack, and a
connection that keeps flooding is closed.
"""

from __future__ import annotations

import enum
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, request

from fitness_app.extensions import socketio
from fitness_app.realtime import push

RATE_LIMITED = {"ok": False, "error": "rate limited"}


class Verdict(enum.Enum):
    ALLOW = "allow"
    REFUSE = "refuse"
    DISCONNECT = "disconnect"


@dataclass
class Bucket:
    """`tokens` refill at `rate` per second up to `burst`; each event takes one.

    Refused events pile up as `strikes`, which drain at the same rate: a
    client that overshoots for a moment recovers, while one that keeps
    sending faster than the refill passes `disconnect_after` and is closed,
    even if a token trickles in now and then.
    """

    rate: float
    burst: int
    disconnect_after: int
    tokens: float = field(init=False)
    strikes: float = 0.0
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = float(self.burst)

    def take(self) -> Verdict:
        now = time.monotonic()
        refill = (now - self.stamp) * self.rate
        self.stamp = now
        self.tokens = min(self.burst, self.tokens + refill)
        self.strikes = max(0.0, self.strikes - refill)
        if self.tokens >= 1:
            self.tokens -= 1
            return Verdict.ALLOW
        self.strikes += 1
        if self.strikes > self.disconnect_after:
            return Verdict.DISCONNECT
        return Verdict.REFUSE


_buckets: dict[str, Bucket] = {}


def _bucket(sid: str) -> Bucket:
    bucket = _buckets.get(sid)
    if bucket is None:
        config = current_app.config
        bucket = _buckets[sid] = Bucket(
            config["SOCKET_EVENT_RATE"],
            config["SOCKET_EVENT_BURST"],
            config["SOCKET_FLOOD_DISCONNECT"],
        )
    return bucket


def forget(sid: str) -> None:
    """The connection closed: drop its bucket."""
    _buckets.pop(sid, None)


def limited(handler: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Run `handler` only while the connection has tokens."""

    @functools.wraps(handler)
    def wrapper(*args: Any) -> dict[str, Any]:
        verdict = _bucket(request.sid).take()
        if verdict is Verdict.ALLOW:
            return handler(*args)
        if verdict is Verdict.DISCONNECT:
            current_app.logger.warning("socket %s closed for flooding", request.sid)
            push.close_connection(request.sid)
        return RATE_LIMITED

    return wrapper


def init_app(app: Flask) -> None:
    """Yield to everyone else after each Engine.IO message, whatever becomes of it.

    Under eventlet and gevent a socket read yields only when nothing is
    buffered, so a reader whose buffer holds thousands of messages would
    handle them all in one go. Yielding in the event handlers is not enough:
    once a flooder is closed, Engine.IO keeps reading what it had already sent
    (the file descriptor closes only when the reader returns), and those
    messages, addressed to a namespace that has gone, reach no handler. In
    bench/run.py's flood that was 9,800 messages read in one 240 ms stall.
    Wrapping the server's `message` handler puts the yield under every one.
    """
    engine = socketio.server.eio
    handle = engine.handlers["message"]

    def message(eio_sid: str, data: Any) -> Any:
        try:
            return handle(eio_sid, data)
        finally:
            socketio.sleep(0)

    engine.on("message", message)
