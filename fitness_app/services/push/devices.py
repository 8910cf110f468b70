"""Push subscriptions as devices of a login session: checked, stored, listed, removed.

A browser sends `{"endpoint", "keys": {"p256dh", "auth"}}`. The endpoint is a
URL the client chose, and the server will POST to it, so it must belong to a
known push service (`PUSH_SERVICES`); nothing else is ever requested. The keys
must be a P-256 point and a 16-byte secret, or encryption would fail later,
far from the request that could have been told.

A device belongs to the login that subscribed it: the foreign key to `logins`
deletes it with that login (sign out, everywhere, password change or reset,
account deletion), and to `users` with the account.

Every change to a user's devices ends with `recount` in its transaction, so
`users.push_devices_count` says whether a delivery has anything to hand to the
push dispatchers (services/notifications/delivery.py).
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.exc import IntegrityError

from fitness_app.extensions import db
from fitness_app.models import PushDevice, User, utcnow
from fitness_app.services.push.keys import b64url_decode
from fitness_app.services.sql import lock_users

MAX_ENDPOINT = 2048
# Device ids are `secrets.token_urlsafe(16)`; anything else a client names is no device,
# refused before it reaches a query (PostgreSQL rejects a NUL in text with an error).
_DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class InvalidSubscription(ValueError):
    """What a browser sent is not a subscription we may push to; the message says why."""


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str


def parse(body: Any, allowed: Iterable[str]) -> Subscription:
    """The subscription in a JSON body, or InvalidSubscription with a message for the client."""
    if not isinstance(body, Mapping):
        raise InvalidSubscription('send {"endpoint": url, "keys": {"p256dh": …, "auth": …}}')
    endpoint, keys = body.get("endpoint"), body.get("keys")
    if not isinstance(endpoint, str) or not isinstance(keys, Mapping):
        raise InvalidSubscription('send {"endpoint": url, "keys": {"p256dh": …, "auth": …}}')
    if not origin_allowed(endpoint, allowed):
        raise InvalidSubscription("endpoint is not at a known push service")
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    try:
        point = b64url_decode(p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        if len(point) != 65:
            raise ValueError("not an uncompressed point")
        if len(b64url_decode(auth)) != 16:
            raise ValueError("auth is not 16 bytes")
    except (ValueError, TypeError) as exc:
        raise InvalidSubscription(
            "keys must be a P-256 public key (p256dh) and a 16-byte secret (auth), base64url"
        ) from exc
    return Subscription(endpoint, p256dh.rstrip("="), auth.rstrip("="))


def origin_allowed(endpoint: str, allowed: Iterable[str]) -> bool:
    """Whether `endpoint` is an absolute URL at one of the allowed origins.

    An origin is `scheme://host[:port]`; `https://*.example.com` allows any
    subdomain of example.com. No user info, no other port, no other scheme.
    """
    if len(endpoint) > MAX_ENDPOINT or not endpoint.isascii() or any(
        c.isspace() or not c.isprintable() for c in endpoint
    ):
        return False
    try:
        url = urlsplit(endpoint)
        port = url.port
    except ValueError:
        return False
    host = (url.hostname or "").lower()
    if url.username is not None or url.password is not None or not host:
        return False
    for origin in allowed:
        want = urlsplit(origin.strip().lower())
        if want.scheme != url.scheme.lower():
            continue
        want_port = want.port or _DEFAULT_PORTS.get(want.scheme)
        if (port or _DEFAULT_PORTS.get(url.scheme.lower())) != want_port:
            continue
        pattern = want.hostname or ""
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


_DEFAULT_PORTS = {"https": 443, "http": 80}


def subscribe(user_id: int, login_id: int, subscription: Subscription,
              user_agent: str) -> tuple[str, bool]:
    """Store this browser as a device of the login; (device id, whether it is new). Commits.

    An endpoint is one browser profile: if another user's device holds it, that
    user signed out without the browser unsubscribing, and the browser now
    belongs to this user. The same user's endpoint keeps its id, moves to this
    login and takes the keys sent now.
    """
    for _ in range(2):
        existing = db.session.scalar(
            sa.select(PushDevice).where(PushDevice.endpoint == subscription.endpoint)
        )
        if existing is not None and existing.user_id == user_id:
            existing.login_id = login_id
            existing.p256dh, existing.auth = subscription.p256dh, subscription.auth
            db.session.commit()
            return existing.id, False
        owners = {user_id} if existing is None else {user_id, existing.user_id}
        lock_users(owners)  # before the INSERT: see `recount`
        if existing is not None:
            db.session.delete(existing)
            db.session.flush()
        device = PushDevice(
            id=secrets.token_urlsafe(16), user_id=user_id, login_id=login_id,
            endpoint=subscription.endpoint, p256dh=subscription.p256dh, auth=subscription.auth,
            browser=browser_label(user_agent), created_at=utcnow(), last_used_at=None,
        )
        db.session.add(device)
        try:
            db.session.flush()
            recount(owners)
            db.session.commit()
        except IntegrityError:
            # The same browser subscribed twice at once: the other request won.
            db.session.rollback()
            continue
        return device.id, True
    raise RuntimeError("could not store the subscription")


def of_user(user_id: int) -> list[PushDevice]:
    """The user's devices, newest first."""
    return list(db.session.scalars(
        sa.select(PushDevice).where(PushDevice.user_id == user_id)
        .order_by(PushDevice.created_at.desc(), PushDevice.id)
    ))


def is_device_id(value: object) -> bool:
    """Whether a value from a client could be a device id at all."""
    return isinstance(value, str) and _DEVICE_ID.fullmatch(value) is not None


def remove(user_id: int, device_id: str) -> bool:
    """Delete one of the user's devices; False when it is not theirs. Commits."""
    lock_users([user_id])
    gone = db.session.execute(
        sa.delete(PushDevice).where(PushDevice.id == device_id, PushDevice.user_id == user_id)
    ).rowcount
    if gone:
        recount([user_id])
    db.session.commit()
    return bool(gone)


def of_login(device_id: str, login_id: int) -> bool:
    """Whether `device_id` was subscribed under this login session (a primary-key probe)."""
    return db.session.scalar(
        sa.select(PushDevice.login_id).where(PushDevice.id == device_id)
    ) == login_id


def of_login_ids(login_id: int) -> list[str]:
    """The ids of the devices subscribed under one login (through its index)."""
    return list(db.session.scalars(
        sa.select(PushDevice.id).where(PushDevice.login_id == login_id)))


def forget(device_ids: Iterable[str]) -> None:
    """The push service has forgotten these devices (404, 410): delete them. Commits."""
    ids = list(device_ids)
    if ids:
        owners = db.session.scalars(
            sa.select(PushDevice.user_id).where(PushDevice.id.in_(ids))).all()
        lock_users(owners)
        db.session.execute(sa.delete(PushDevice).where(PushDevice.id.in_(ids)))
        recount(owners)
        db.session.commit()


def recount(user_ids: Iterable[int]) -> None:
    """Set `users.push_devices_count` of these users from their rows, in the caller's
    transaction. The caller holds the users' locks (`lock_users`, which
    `store.notify` takes too), taken before it changed any device row.

    Why it is never low, which would lose pushes: a device is inserted under its
    user's lock (`subscribe`) and counted under it, so no count can miss a device
    committed before it or racing it. A removal without a recount leaves it high,
    which costs only a dispatcher's read that finds nothing. Taking the lock
    before the DELETE as well orders every such transaction the same way, the
    user's lock before the device rows, so none waits for another in a cycle.
    Counting reads one user's devices through the index on `user_id`.
    """
    ids = sorted(set(user_ids))
    if ids:
        db.session.execute(_recount(), {"ids": ids})


@functools.cache
def _recount() -> sa.Update:
    """Built once per process."""
    users, devices = User.__table__, PushDevice.__table__
    counted = (sa.select(sa.func.count()).select_from(devices)
               .where(devices.c.user_id == users.c.id).scalar_subquery())
    return (sa.update(users).where(users.c.id.in_(sa.bindparam("ids", expanding=True)))
            .values(push_devices_count=counted))


def used(device_ids: Iterable[str]) -> None:
    """Note that these devices were reached just now (the devices page's "last used"). Commits.

    To the hour: a device reached again within the hour is not written again.
    """
    now = utcnow()
    db.session.execute(
        sa.update(PushDevice)
        .where(PushDevice.id.in_(sorted(set(device_ids))),
               sa.or_(PushDevice.last_used_at.is_(None),
                      PushDevice.last_used_at < now - timedelta(hours=1)))
        .values(last_used_at=now).execution_options(synchronize_session=False)
    )
    db.session.commit()


_BROWSERS = (
    ("Edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|Opera")),
    ("Samsung Internet", re.compile(r"SamsungBrowser/")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/|Chromium/")),
    ("Safari", re.compile(r"Safari/")),
)
_SYSTEMS = (
    ("Android", re.compile(r"Android")),
    ("iPhone", re.compile(r"iPhone")),
    ("iPad", re.compile(r"iPad")),
    ("Windows", re.compile(r"Windows")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("Linux", re.compile(r"Linux")),
)


def browser_label(user_agent: str) -> str:
    """A label such as "Chrome on Android"; "A browser" when the header names nothing known."""
    user_agent = (user_agent or "")[:512]
    browser = next((name for name, pattern in _BROWSERS if pattern.search(user_agent)), None)
    system = next((name for name, pattern in _SYSTEMS if pattern.search(user_agent)), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or (f"A browser on {system}" if system else "A browser")
