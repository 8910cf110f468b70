"""How a patched process listens and serves: its own socket, then eventlet's or gevent's server.

`app.py` serves the app with it and `bench/bare.py` the bare reference
server, so the two are served alike. The caller has already patched the
standard library for `mode` (eventlet or gevent); this module imports the
server of that mode only when asked to serve, and `fitness_app` never imports
it.

- The listening socket is bound here, without the SO_REUSEPORT that
  eventlet's own `listen` (what `socketio.run` calls) sets. With it, a second
  server on a taken port starts without complaint and the kernel splits
  connections between the two, so sessions, CSRF tokens and sockets fail at
  random (FIELD-NOTES). Without it the bind itself refuses a taken port: no
  moment between a check and the bind where another server could slip in.
- Under gevent the socket gets TCP_NODELAY, which every accepted connection
  inherits, as gunicorn sets it: gevent's server writes a response's headers
  and body apart, and without it each POST after the first on a kept-alive
  connection waits about 40 ms for a delayed ACK (FIELD-NOTES).
- The servers are started as `socketio.run` starts them: eventlet's WSGI
  server with a connection cap (1024 unless told), gevent's with
  gevent-websocket's handler for the WebSocket upgrade.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

# Each server's own default backlog, as `socketio.run` would have listened.
BACKLOG = {"eventlet": 50, "gevent": 128}


def listen(host: str, port: int, mode: str) -> socket.socket:
    """The listening socket for `mode`; a port another server holds ends the process, status 1."""
    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    try:
        listener = socket.create_server(address, family=family, backlog=BACKLOG[mode])
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        raise SystemExit(
            f"fitness_app: port {port} on {host} is taken: another server is listening there. "
            f"Stop it, or serve on another port (PORT={port + 1} make run)."
        ) from None
    if mode == "gevent":
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return listener


def serve(wsgi_app: Callable, listener: socket.socket, mode: str, *, log_output: bool,
          max_connections: int) -> None:
    """Serve `wsgi_app` on `listener` with the mode's WSGI server until the process stops.

    `max_connections` caps eventlet's server; gevent's has no cap by default.
    """
    if mode == "eventlet":
        import eventlet.wsgi

        eventlet.wsgi.server(listener, wsgi_app, log_output=log_output,
                             max_size=max_connections)
    else:
        from gevent import pywsgi
        from geventwebsocket.handler import WebSocketHandler

        pywsgi.WSGIServer(listener, wsgi_app, handler_class=WebSocketHandler,
                          log="default" if log_output else None).serve_forever()
