"""Security headers on every response: one small hook, no extension needed.

The Content-Security-Policy allows scripts, styles, images and fonts from this
site only (no inline script or handler, no eval), Socket.IO to this same host
over ws or wss, and no framing by anyone.
"""

from __future__ import annotations

import re

from flask import Flask, current_app, request
from werkzeug.wrappers import Response

# A host[:port] as a browser would send it; anything else is left out of the policy.
_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)


def content_security_policy() -> str:
    """The policy for this request. connect-src names ws(s)://this-host, because
    'self' covers WebSocket URLs only in CSP Level 3 browsers."""
    connect = ["'self'"]
    if _HOST.fullmatch(request.host):
        connect.append(f"{'wss' if request.scheme == 'https' else 'ws'}://{request.host}")
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        f"connect-src {' '.join(connect)}",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    max_age = current_app.config["HSTS_SECONDS"]
    if max_age:
        headers.setdefault("Strict-Transport-Security", f"max-age={max_age}; includeSubDomains")
    return response
