"""Who is online: connections per user, kept in memory or, with a queue, in Redis.

With several workers each one keeps its own Redis hash of sid → user, and
refreshes its expiry from a heartbeat. A worker that dies without a goodbye
stops refreshing, so its connections fall out of the count on their own.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass

from flask import Flask, current_app

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    users: int
    connections: int

    def as_payload(self) -> dict[str, int]:
        return {"users": self.users, "connections": self.connections}


class MemoryPresence:
    """One process: a dict of sid → (user id, login id)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sids: dict[str, tuple[int, str]] = {}
        self._admin_sids: set[str] = set()

    def add(self, sid: str, user_id: int, login_id: str) -> None:
        with self._lock:
            self._sids[sid] = (user_id, login_id)

    def watch(self, sid: str) -> None:
        """Note an admin's connection in this process: it wants live figures."""
        with self._lock:
            self._admin_sids.add(sid)

    def remove(self, sid: str) -> None:
        with self._lock:
            self._sids.pop(sid, None)
            self._admin_sids.discard(sid)

    def admins_watching(self) -> bool:
        """Whether this process holds an admin's socket, and so must count everyone."""
        with self._lock:
            return bool(self._admin_sids)

    def _entries(self) -> list[tuple[int, str]]:
        with self._lock:
            return list(self._sids.values())

    def _sid_entries(self) -> list[tuple[str, int, str]]:
        with self._lock:
            return [(sid, uid, login) for sid, (uid, login) in self._sids.items()]

    def heartbeat(self) -> None:
        """Nothing expires in memory."""

    def departed(self) -> int:
        """How many other workers died since the last call: none, in one process."""
        return 0

    def snapshot(self) -> Snapshot:
        entries = self._entries()
        return Snapshot(users=len({uid for uid, _ in entries}), connections=len(entries))

    def online_user_ids(self) -> set[int]:
        return {uid for uid, _ in self._entries()}

    def sids_for_login(self, login_id: str) -> list[str]:
        return [sid for sid, _, login in self._sid_entries() if login == login_id]

    def logins_of(self, user_id: int) -> list[tuple[str, str]]:
        """(sid, login id) of every connection of one user, in one read of the entries."""
        return [(sid, login) for sid, uid, login in self._sid_entries() if uid == user_id]


class RedisPresence(MemoryPresence):
    """Several processes: each writes its own hash, everyone reads them all.

    Redis may be down or restarting; presence then degrades instead of failing
    the socket handler, the admin page or `flask announce`. Writes that fail are
    kept locally and the heartbeat rewrites the whole hash once Redis answers
    again; reads that fail count this worker's connections only. Each outage is
    logged once, and its end once.
    """

    def __init__(self, url: str, channel: str, ttl_seconds: int = 30) -> None:
        super().__init__()
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        from fitness_app.realtime.redis_client import connect

        # Any URL form the message queue accepts, Sentinel included. Short
        # timeouts and one immediate retry (which reconnects a pooled
        # connection that a Redis restart broke): these calls sit on request
        # paths, where an unreachable Redis must cost milliseconds, not the
        # seconds redis-py's default backoff would spend.
        self._redis = connect(
            url,
            channel,
            decode_responses=True,
            socket_connect_timeout=2,
            socket_timeout=2,
            retry=Retry(NoBackoff(), 1),
        )
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        # Keys are scoped by the Socket.IO channel, so two deployments (or test
        # runs) sharing one Redis never count each other's connections.
        self._prefix = f"fitness:{channel}:presence:"
        self._key = f"{self._prefix}{uuid.uuid4().hex}"
        # Every worker's hash key, so each can see the others come and go.
        self._workers = f"fitness:{channel}:workers"
        self._peers: set[str] = set()
        self.ttl = ttl_seconds
        self._in_sync = True
        self._reachable = True

    def _failed(self, action: str, exc: Exception) -> None:
        self._in_sync = False
        if self._reachable:
            self._reachable = False
            log.warning(
                "presence: Redis unreachable (%s: %s); counting this worker's "
                "connections only until it answers again", action, exc,
            )

    def _succeeded(self) -> None:
        if not self._reachable:
            self._reachable = True
            log.warning("presence: Redis answers again")

    def add(self, sid: str, user_id: int, login_id: str) -> None:
        super().add(sid, user_id, login_id)
        try:
            pipe = self._redis.pipeline()
            pipe.hset(self._key, sid, f"{user_id}:{login_id}")
            pipe.expire(self._key, self.ttl)
            pipe.execute()
        except self._errors as exc:
            self._failed("add", exc)

    def remove(self, sid: str) -> None:
        super().remove(sid)
        try:
            self._redis.hdel(self._key, sid)
        except self._errors as exc:
            self._failed("remove", exc)

    def heartbeat(self) -> None:
        """Keep this worker's hash alive, and make it match the local truth.

        The hash is rewritten when a write failed, or when its size differs from
        the local count: after a Redis restart it is gone, or holds only the
        connections made since.
        """
        local = self._sid_entries()
        try:
            self._redis.sadd(self._workers, self._key)
            if self._in_sync and local:
                pipe = self._redis.pipeline()
                pipe.expire(self._key, self.ttl)
                pipe.hlen(self._key)
                _, size = pipe.execute()
                self._in_sync = size == len(local)
            if not self._in_sync:
                pipe = self._redis.pipeline()  # MULTI/EXEC: readers never see it half-written
                pipe.delete(self._key)
                if local:
                    pipe.hset(
                        self._key, mapping={sid: f"{uid}:{login}" for sid, uid, login in local}
                    )
                    pipe.expire(self._key, self.ttl)
                pipe.execute()
                self._in_sync = True
        except self._errors as exc:
            self._failed("heartbeat", exc)
            return
        self._succeeded()

    def departed(self) -> int:
        """How many workers alive at the last call have gone since: their hash expired.

        A worker killed between a COMMIT and its publish leaves notifications
        that no other worker pushed; the caller resends them (realtime/queue.py).
        Each worker keeps its own view, so whoever removes a dead key from the
        set first hides it from nobody.
        """
        try:
            others = sorted(k for k in self._redis.smembers(self._workers) if k != self._key)
            pipe = self._redis.pipeline(transaction=False)
            for key in others:
                pipe.exists(key)
            alive = {key for key, exists in zip(others, pipe.execute(), strict=True) if exists}
            if dead := set(others) - alive:
                self._redis.srem(self._workers, *dead)
        except self._errors as exc:
            self._failed("departed", exc)
            return 0
        gone, self._peers = self._peers - alive, alive
        return len(gone)

    def _all_sid_entries(self) -> list[tuple[str, int, str]]:
        entries = []
        try:
            for key in self._redis.scan_iter(match=f"{self._prefix}*", count=100):
                for sid, value in self._redis.hgetall(key).items():
                    uid, _, login = value.partition(":")
                    entries.append((sid, int(uid), login))
        except self._errors as exc:
            self._failed("read", exc)
            return self._sid_entries()
        return entries

    def _entries(self) -> list[tuple[int, str]]:
        return [(uid, login) for _, uid, login in self._all_sid_entries()]

    def sids_for_login(self, login_id: str) -> list[str]:
        return [sid for sid, _, login in self._all_sid_entries() if login == login_id]

    def logins_of(self, user_id: int) -> list[tuple[str, str]]:
        return [(sid, login) for sid, uid, login in self._all_sid_entries() if uid == user_id]


_EXTENSION_KEY = "fitness_presence"


def init_app(app: Flask) -> None:
    """Pick the store: Redis when a message queue joins several workers."""
    url = app.config.get("REDIS_URL")
    app.extensions[_EXTENSION_KEY] = (
        RedisPresence(url, app.config["SOCKETIO_CHANNEL"], app.config["PRESENCE_TTL_SECONDS"])
        if url
        else MemoryPresence()
    )


def store() -> MemoryPresence:
    return current_app.extensions[_EXTENSION_KEY]


def online_user_ids() -> set[int]:
    return store().online_user_ids()
