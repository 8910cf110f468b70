"""The message queue between workers: python-socketio's PubSubManager on Redis.

python-socketio documents `_publish` and `_listen` as the two methods a
`PubSubManager` subclass implements for its backend; this class implements
exactly those, on clients from `redis_client.connect`, so every URL form the
stock RedisManager accepts works here too, Sentinel included.

Unlike the stock manager it reports each subscription: Redis pub/sub keeps
nothing for a subscriber that is away, so every (re)subscription closes a gap
in which other workers' emits were lost, and `on_subscribed` is told when that
gap began (queue.py resends what it may have held). Its listening client runs
without redis-py's retries, which would re-subscribe silently and hide a gap.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import redis
import socketio
from redis.backoff import NoBackoff
from redis.retry import Retry

from fitness_app.realtime.redis_client import connect

log = logging.getLogger(__name__)

# Retries of the subscription double from 1 s up to this: an attempt costs one
# refused connection, and live delivery across workers waits for the next one
# after Redis's return (30 s left a 15 s outage undelivered for 16 s more).
RETRY_SECONDS_MAX = 4


class RedisPubSub(socketio.PubSubManager):
    """Socket.IO's client manager on a Redis channel, reporting every subscription.

    With `write_only=True` it only publishes: python-socketio's documented way
    to emit from a process that serves no clients (`flask announce`).
    """

    name = "fitness-redis"

    def __init__(self, url: str, channel: str, *, write_only: bool = False,
                 on_subscribed: Callable[[datetime], None] | None = None) -> None:
        super().__init__(channel=channel, write_only=write_only)
        self.url = url
        # Publishing sits on request paths: fail fast while Redis is down
        # (one immediate retry reconnects a connection a restart broke).
        self._publisher = connect(url, channel, socket_connect_timeout=2, socket_timeout=2,
                                  retry=Retry(NoBackoff(), 1))
        self._on_subscribed = on_subscribed
        self._gap_began = datetime.now(UTC)

    def _publish(self, data: dict[str, Any]) -> None:
        """Best effort, as the stock manager: this worker's clients already got it."""
        try:
            self._publisher.publish(self.channel, self.json.dumps(data))
        except (redis.RedisError, OSError) as exc:
            log.error("message queue: cannot publish %r to Redis (%s); other workers' "
                      "clients get it from the resend once they subscribe again",
                      data.get("method"), exc)

    def _listen(self) -> Iterator[bytes]:
        """Yield each message on the channel, subscribing again after any failure."""
        channel = self.channel.encode()
        retry_seconds = 1
        while True:
            pubsub = None
            try:
                listener = connect(self.url, self.channel, socket_connect_timeout=2,
                                   socket_keepalive=True, retry=Retry(NoBackoff(), 0))
                pubsub = listener.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel)
                retry_seconds = 1
                if self._on_subscribed is not None:
                    self._on_subscribed(self._gap_began)
                try:
                    for message in pubsub.listen():
                        if message["type"] == "message" and message["channel"] == channel:
                            yield message["data"]
                finally:
                    self._gap_began = datetime.now(UTC)
            except (redis.RedisError, OSError) as exc:
                log.warning("message queue: cannot receive from Redis (%s); retrying in %s s",
                            exc, retry_seconds)
                time.sleep(retry_seconds)
                retry_seconds = min(retry_seconds * 2, RETRY_SECONDS_MAX)
            finally:
                if pubsub is not None:
                    pubsub.close()
