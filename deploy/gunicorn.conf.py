"""gunicorn settings for one fitness_app process; start one per port.

    .venv/bin/gunicorn -c deploy/gunicorn.conf.py -b 127.0.0.1:8001

gunicorn's gevent worker (gunicorn 26 removed the eventlet one). Flask-SocketIO's
deployment guide: gunicorn's own load balancing has no sticky sessions, so
each gunicorn runs exactly one worker, and nginx (deploy/nginx/fitness_app.conf,
`ip_hash`) spreads clients over several of them. They share PostgreSQL
(DATABASE_URL), Redis (REDIS_URL) and SECRET_KEY. docs/deployment.md says
why gevent here, measured.
"""

import os
from pathlib import Path

# The one entry point: it patches for ASYNC_MODE and builds the app.
wsgi_app = "app:app"
# gunicorn's gevent worker, with gevent-websocket's handler for the WebSocket
# upgrade (python-engineio uses gevent-websocket whenever it is installed, and
# `make run ASYNC_MODE=gevent` needs it too), as Flask-SocketIO's deployment
# guide gives it.
worker_class = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
# app.py patches for the mode it is told, never one it guesses.
raw_env = ["ASYNC_MODE=gevent"]
# Behind deploy/'s nginx, one proxy sets X-Forwarded-For and -Proto: the client's
# address (sign-in limits) and scheme come from it (fitness_app/proxies.py).
os.environ.setdefault("TRUSTED_PROXIES", "1")
# Imports `app` from the checkout whatever directory gunicorn starts in.
chdir = str(Path(__file__).resolve().parent.parent)
# Never more than one: a second worker in the same gunicorn would receive half
# of a long-polling client's requests and answer them "unknown session".
workers = 1
# gunicorn's cap on connections per worker (1000 unless told otherwise); every
# socket and every keep-alive request holds one. Same knob as `make run`.
worker_connections = int(os.environ.get("MAX_CONNECTIONS", "20000"))
# The worker patches with gevent before it imports app.py; --preload would
# import the app in the unpatched master first.
preload_app = False
# A long-polling request lasts up to SOCKETIO_PING_INTERVAL (25 s); a graceful
# stop waits that long so those requests finish instead of failing.
graceful_timeout = 30
accesslog = "-" if os.environ.get("ACCESS_LOG", "0") == "1" else None
# gunicorn 25.1+ opens a control socket at one path per user
# ($HOME/.gunicorn/gunicorn.ctl), so with one gunicorn per port each would
# replace the others'. Nothing here drives gunicornc: the processes are
# started and stopped whole (deploy/cluster.py, systemd).
control_socket_disable = True


def post_worker_init(worker) -> None:
    """Start the worker's background work (app.py): gunicorn's master holds the port by now."""
    import app as entry

    entry.start_background_work()
