"""The WebSocket transport: one setting the Socket.IO server has no option for."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

_OFFER = "HTTP_SEC_WEBSOCKET_EXTENSIONS"


class WithoutCompressionOffer:
    """WSGI middleware: every WebSocket handshake is answered without per-message compression.

    Browsers offer permessage-deflate, and eventlet (like simple-websocket)
    accepts it whenever it is offered. Each socket then keeps a zlib context
    of its own, about 90 KB of the 154 KB a socket cost, and every packet is
    compressed once per recipient (10,000 times for one broadcast) to save a
    few dozen bytes of a 200-byte notification. Socket.IO's own Node server
    leaves it off by default for the same reasons. Without the offer the
    handshake simply agrees on no extension; clients need no change.

    It must wrap Socket.IO's middleware, which answers the handshake itself;
    create_app's `register_middleware` installs it there.
    """

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        environ.pop(_OFFER, None)
        return self.wsgi_app(environ, start_response)
