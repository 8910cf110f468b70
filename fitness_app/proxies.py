"""The client's address and scheme behind reverse proxies (Werkzeug's ProxyFix).

nginx sends X-Forwarded-For and X-Forwarded-Proto. Trusting them without a
proxy in front would let any client choose its own address (and so escape
every per-address limit); trusting too few would make every client look like
nginx. TRUSTED_PROXIES says how many proxies set them: 0 for `make run`, 1 in
deploy/.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app: Flask) -> None:
    """Wrap the whole WSGI stack; call it after every other middleware is installed."""
    trusted = app.config["TRUSTED_PROXIES"]
    if trusted > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted)
