"""Values that arrive in URLs: ids, page numbers, `after`, and where to send people back.

Every id is a database integer (32 bits on PostgreSQL, 64 on SQLite). A larger
number in a URL used to overflow the driver (a 500); here it never leaves the
URL layer.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1
_DIGITS = re.compile(r"[0-9]+")


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: a URL with an id beyond any stored id matches no route (404)."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - Werkzeug's name
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Install the bounded converter; must run before any blueprint adds its rules."""
    app.url_map.converters["int"] = IdConverter


def page_arg(name: str = "page") -> int:
    """The page number in the query string: 1 when absent or not a number, 404 when absurd."""
    value = request.args.get(name, "")
    if not _DIGITS.fullmatch(value):
        return 1
    if len(value) > 10 or int(value) > MAX_ID:
        abort(404, "There is no such page.")
    return max(int(value), 1)


def id_arg(name: str, default: int = 0) -> int | None:
    """A non-negative id in the query string, plain ASCII digits only; None when malformed.

    `str.isdigit` accepts "²" and other digits `int` refuses. Ids beyond any
    stored id mean "none above it", so they are clamped instead of refused.
    """
    value = request.args.get(name)
    if value is None:
        return default
    if not _DIGITS.fullmatch(value):
        return None
    return min(int(value), MAX_ID) if len(value) <= 10 else MAX_ID


def local_path(url: str | None) -> str | None:
    """`url` as a path on this site, or None when it points anywhere else.

    Accepts a path ("/workouts/") and an absolute URL on this host (a
    Referer), judged against the scheme and host the client used (behind
    nginx, as ProxyFix restores them). Refuses other hosts, scheme-relative
    "//host", backslashes (browsers read "/\\host" as "//host") and any
    whitespace or control character (browsers drop tabs and newlines, so
    "/\\t/host" becomes "//host").
    """
    if not url:
        return None
    if url.startswith(request.host_url):
        url = "/" + url[len(request.host_url):]
    if not url.startswith("/") or url.startswith("//") or "\\" in url:
        return None
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return None
    return url
