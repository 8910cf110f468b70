"""Presence across several workers: each keeps its own Redis hashes, everyone reads them all.

The store `presence.init_app` picks when REDIS_URL is set; `presence.py` says
what the hashes hold and why.
"""

from __future__ import annotations

import logging
import uuid

from fitness_app.realtime.presence import MemoryPresence

log = logging.getLogger(__name__)


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
        worker = uuid.uuid4().hex
        self._key = f"{self._prefix}{worker}"
        self._devices_prefix = f"fitness:{channel}:devices:"
        self._devices_key = f"{self._devices_prefix}{worker}"
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

    def add(self, sid: str, user_id: int, login_id: str, device_id: str | None = None) -> None:
        super().add(sid, user_id, login_id, device_id)
        try:
            pipe = self._redis.pipeline()
            pipe.hset(self._key, sid, f"{user_id}:{login_id}")
            pipe.expire(self._key, self.ttl)
            if device_id:
                pipe.hset(self._devices_key, device_id, 1)
                pipe.expire(self._devices_key, self.ttl)
            pipe.execute()
        except self._errors as exc:
            self._failed("add", exc)

    def remove(self, sid: str) -> str | None:
        device_id = super().remove(sid)
        try:
            pipe = self._redis.pipeline()
            pipe.hdel(self._key, sid)
            if device_id:
                pipe.hdel(self._devices_key, device_id)
            pipe.execute()
        except self._errors as exc:
            self._failed("remove", exc)
        return device_id

    def connected_devices(self, device_ids: list[str]) -> set[str]:
        """Which of these devices have a socket open in any worker: one HMGET per worker.

        With Redis unreachable, this worker's own connections are all it knows;
        a device connected elsewhere may then get a push as well as its socket event.
        """
        if not device_ids:
            return set()
        try:
            keys = list(self._redis.scan_iter(match=f"{self._devices_prefix}*", count=100))
            pipe = self._redis.pipeline(transaction=False)
            for key in keys:
                pipe.hmget(key, device_ids)
            found = set()
            for values in pipe.execute():
                found.update(d for d, value in zip(device_ids, values, strict=True) if value)
        except self._errors as exc:
            self._failed("read devices", exc)
            return super().connected_devices(device_ids)
        return found

    def heartbeat(self) -> None:
        """Keep this worker's hash alive, and make it match the local truth.

        The hash is rewritten when a write failed, or when its size differs from
        the local count: after a Redis restart it is gone, or holds only the
        connections made since.
        """
        local = self._sid_entries()
        try:
            devices = self.local_devices()
            self._redis.sadd(self._workers, self._key)
            if self._in_sync and local:
                pipe = self._redis.pipeline()
                pipe.expire(self._key, self.ttl)
                pipe.hlen(self._key)
                pipe.expire(self._devices_key, self.ttl)
                pipe.hlen(self._devices_key)
                _, size, _, device_count = pipe.execute()
                self._in_sync = size == len(local) and device_count == len(devices)
            if not self._in_sync:
                pipe = self._redis.pipeline()  # MULTI/EXEC: readers never see it half-written
                pipe.delete(self._key, self._devices_key)
                if local:
                    pipe.hset(
                        self._key, mapping={sid: f"{uid}:{login}" for sid, uid, login in local}
                    )
                    pipe.expire(self._key, self.ttl)
                if devices:
                    pipe.hset(self._devices_key, mapping=dict.fromkeys(devices, 1))
                    pipe.expire(self._devices_key, self.ttl)
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
