"""Room names. Clients never choose a room; the server derives them from the session."""

from __future__ import annotations

ADMINS_ROOM = "admins"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"
