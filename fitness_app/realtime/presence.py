"""Who is online: connections per user, kept in memory or, with a queue, in Redis
(`presence_redis.py`).

With several workers each one keeps its own Redis hash of sid → user, and
refreshes its expiry from a heartbeat. A worker that dies without a goodbye
stops refreshing, so its connections fall out of the count on their own.

A connection may name its push device (`auth.device`): while one is open, that
device hears notifications over its socket and gets no Web Push. Each worker
keeps a second hash, device → its connections there, so "which of these
devices is connected anywhere" is one HMGET per worker, whatever the number
of connections.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import Flask, current_app


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
        self._device_of: dict[str, str] = {}
        self._device_sids: dict[str, set[str]] = {}

    def add(self, sid: str, user_id: int, login_id: str, device_id: str | None = None) -> None:
        with self._lock:
            self._sids[sid] = (user_id, login_id)
            if device_id:
                self._device_of[sid] = device_id
                self._device_sids.setdefault(device_id, set()).add(sid)

    def watch(self, sid: str) -> None:
        """Note an admin's connection in this process: it wants live figures."""
        with self._lock:
            self._admin_sids.add(sid)

    def remove(self, sid: str) -> str | None:
        """Forget a connection; returns its device id when that device has no other one here."""
        with self._lock:
            self._sids.pop(sid, None)
            self._admin_sids.discard(sid)
            device_id = self._device_of.pop(sid, None)
            if device_id is None:
                return None
            sids = self._device_sids.get(device_id, set())
            sids.discard(sid)
            if sids:
                return None
            self._device_sids.pop(device_id, None)
            return device_id

    def local_devices(self) -> list[str]:
        """The devices with a connection in this process."""
        with self._lock:
            return list(self._device_sids)

    def connected_devices(self, device_ids: list[str]) -> set[str]:
        """Which of these devices have a socket open (here: in this process)."""
        with self._lock:
            return {device_id for device_id in device_ids if device_id in self._device_sids}

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


_EXTENSION_KEY = "fitness_presence"


def init_app(app: Flask) -> None:
    """Pick the store: Redis when a message queue joins several workers.

    `presence_redis` is imported here, not at the top: it builds on this
    module's MemoryPresence.
    """
    url = app.config.get("REDIS_URL")
    if url:
        from fitness_app.realtime.presence_redis import RedisPresence

        app.extensions[_EXTENSION_KEY] = RedisPresence(
            url, app.config["SOCKETIO_CHANNEL"], app.config["PRESENCE_TTL_SECONDS"])
        return
    app.extensions[_EXTENSION_KEY] = MemoryPresence()


def store() -> MemoryPresence:
    return current_app.extensions[_EXTENSION_KEY]


def online_user_ids() -> set[int]:
    return store().online_user_ids()
