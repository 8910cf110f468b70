"""Who gets what, as pure rules: one message per group, its payload, which devices.

A delivery unit stores notifications; for Web Push they become one message per
(user, group): a workout that reaches two goals and a record buzzes a phone
once. Within one unit every notification of a user shares its group (the
`group` key of the payload, or, where a payload has none, the unit itself),
and an announcement is a group of its own.

The payload is the `notification` event's JSON of the group's first
notification that is not silent; the others that are not silent add their
titles and messages to its `message`. A group whose every notification is
silent is not pushed. RFC 8291 leaves 3,993 bytes of plaintext in one
4,096-byte record; pywebpush does not check, so the message is shortened here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MAX_PAYLOAD = 3993
ELLIPSIS = "…"
# Reminders are time-critical; everything else may wait for the device's next wake-up.
_URGENCY = {"reminder": "high"}


@dataclass(frozen=True)
class Message:
    """One push for every device of `user_id` (None: every user's devices)."""

    user_id: int | None
    payload: bytes
    urgency: str


def messages(stored: Iterable[tuple[int | None, dict[str, Any]]]) -> list[Message]:
    """The messages for one delivery unit's (user id, notification payload) pairs, in id order."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    owners: dict[tuple[Any, ...], int | None] = {}
    for user_id, payload in sorted(stored, key=lambda pair: pair[1]["id"]):
        key = (
            ("announcement", payload["id"]) if user_id is None
            else ("user", user_id, payload.get("group"))
        )
        groups.setdefault(key, []).append(payload)
        owners[key] = user_id
    found = []
    for key, members in groups.items():
        combined = combine(members)
        if combined is not None:
            found.append(Message(owners[key], encode(combined),
                                 _URGENCY.get(combined["kind"], "normal")))
    return found


def combine(group: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first audible notification, listing the other audible ones; None if all are silent."""
    audible = [payload for payload in group if not payload.get("silent")]
    if not audible:
        return None
    first, others = audible[0], audible[1:]
    if not others:
        return first
    lines = [first["message"], *(f"{other['title']}: {other['message']}" for other in others)]
    return {**first, "message": "\n".join(lines)}


def encode(payload: dict[str, Any], limit: int = MAX_PAYLOAD) -> bytes:
    """Compact UTF-8 JSON of at most `limit` bytes, shortening the message (then the title)."""
    body = _dump(payload)
    if len(body) <= limit:
        return body
    for field in ("message", "title"):
        text = str(payload.get(field, ""))
        low, high = 0, len(text)
        # The longest prefix that fits: the check is monotonic in its length.
        while low < high:
            middle = (low + high + 1) // 2
            if len(_dump({**payload, field: text[:middle] + ELLIPSIS})) <= limit:
                low = middle
            else:
                high = middle - 1
        shortened = text[:low] + ELLIPSIS if low < len(text) else text
        payload = {**payload, field: shortened if low else ""}
        body = _dump(payload)
        if len(body) <= limit:
            return body
    raise ValueError("a notification payload does not fit in one push even without its text")


def _dump(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def unconnected(device_ids: Iterable[str], connected: set[str]) -> list[str]:
    """A device with a socket open hears it there; only the others get a push."""
    return [device_id for device_id in device_ids if device_id not in connected]
