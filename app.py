"""The one entry point that serves fitness_app: patch first, then build the app.

Every server starts here: `make run` runs this file, gunicorn loads `app:app`
(deploy/gunicorn.conf.py) and `make bench` starts it like `make run`. Nothing
is guessed: ASYNC_MODE names the server mode (eventlet by default, gevent the
maintained alternative, threading for debugging), the standard library is
patched for it before anything else is imported, and the mode is handed to
the factory as an argument. eventlet serves SQLite only: with any other
database it stops at start and points to gevent. `deploy/serving.py` binds the port
and runs the mode's server. `fitness_app` itself never imports eventlet or
gevent, and the `flask` command builds the app from the same factory without
patching, in threading mode (`flask --app fitness_app ...`).
"""

import os

ASYNC_MODE = os.environ.get("ASYNC_MODE", "eventlet")
if ASYNC_MODE == "eventlet":
    import eventlet

    eventlet.monkey_patch()
elif ASYNC_MODE == "gevent":
    from gevent import monkey

    # gunicorn's gevent worker has patched already; patching again is a no-op.
    monkey.patch_all()
elif ASYNC_MODE != "threading":
    raise SystemExit(f"ASYNC_MODE must be eventlet, gevent or threading, not {ASYNC_MODE!r}")

import gc  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402

import sqlalchemy as sa  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from deploy import serving  # noqa: E402
from fitness_app import create_app  # noqa: E402
from fitness_app.extensions import socketio  # noqa: E402
from fitness_app.services.accounts import passwords  # noqa: E402
from fitness_app.services.imports import jobs as imports  # noqa: E402
from fitness_app.services.push import sender  # noqa: E402
from fitness_app.services.schedule import loop as schedule  # noqa: E402

# A full collection walks every object: about 1 s with 10,000 sockets held, a
# pause every client feels. With the default 700-object young generation, each
# broadcast promoted enough in-flight packets to set one off every third round
# (bench/run.py). A young generation of 100,000 lets them die young; the rarer
# young collections cost no measurable latency.
gc.set_threshold(100_000, 10, 10)
# Web Push encrypts and sends in OS threads (services/push/sender.py) while
# the loop serves everyone. Whenever the loop wants the GIL back from a busy
# thread it waits up to the switch interval, once per wake-up (5 ms by default;
# docs/performance.md has the runs, noisy ones). Idle threads make it cost nothing.
sys.setswitchinterval(0.001)

app = create_app(overrides={"ASYNC_MODE": ASYNC_MODE})


def refuse_blocking_database(database_uri: str) -> None:
    """Stop at start when eventlet would wait on the database with the whole process.

    Database drivers talk to a server over a socket of their own. psycopg 3
    waits through gevent's loop when gevent has patched (from 3.1.14), but has
    no eventlet support (psycogreen, which had, is for psycopg2): under
    eventlet every PostgreSQL query would hold every user until it returned,
    and a query waiting on a lock held by another request of the same process
    could wait for ever. SQLite is a local file, read within the request.
    """
    backend = sa.engine.make_url(database_uri).get_backend_name()
    if ASYNC_MODE == "eventlet" and backend != "sqlite":
        raise SystemExit(
            f"fitness_app: ASYNC_MODE=eventlet serves SQLite only, not {backend}: its driver "
            "(psycopg for PostgreSQL) does not wait through eventlet's loop, so every query "
            "would hold the whole server until the database answered. Serve it with gevent: "
            "ASYNC_MODE=gevent make run (deploy/ and make cluster run gevent under gunicorn; "
            "docs/deployment.md)."
        )


refuse_blocking_database(app.config["SQLALCHEMY_DATABASE_URI"])

# Password hashing and Web Push (encryption and blocking HTTP) run in real OS
# threads; each mode has its own pool, and only this file may name eventlet or
# gevent (fitness_app/services/accounts/passwords.py, services/push/sender.py).
if ASYNC_MODE == "eventlet":
    from eventlet import tpool

    passwords.use_thread_pool(tpool.execute)
    sender.use_thread_pool(tpool.execute)
elif ASYNC_MODE == "gevent":
    from gevent import get_hub

    def _in_hub_threadpool(work, *args):
        return get_hub().threadpool.apply(work, args)

    passwords.use_thread_pool(_in_hub_threadpool)
    sender.use_thread_pool(_in_hub_threadpool)



def start_background_work() -> None:
    """Start the work a serving process does on its own, once its port is its own.

    Called after the bind (`serve` below; gunicorn's `post_worker_init`, after its
    master bound), never at import: a second `make run` refused on a taken port
    must not claim due rows or take over imports from the database it shares.
    The import watcher takes over imports whose server stopped mid-way (resumed
    from the uploaded file, or marked failed), now and every IMPORT_STALE_SECONDS.
    The scheduler runs in every serving process (SCHEDULE_ENABLED=0 opts out); with
    several workers on PostgreSQL they share the due rows (docs/architecture.md).
    Web Push dispatchers start on demand, when a notification is committed.
    """
    imports.watch(app)
    schedule.start(app)


def _say_when_ready(host: str, port: int) -> None:
    """Print the address once the server accepts connections: the last line `make run` shows."""
    while True:
        try:
            socket.create_connection((host, port), timeout=1).close()
            break
        except OSError:
            socketio.sleep(0.05)
    note = ""
    if ASYNC_MODE == "eventlet":
        note = (" eventlet's deprecation warning above is known: it is still the default here,"
                " and ASYNC_MODE=gevent runs the maintained alternative (docs/deployment.md).")
    print(f"fitness_app ({ASYNC_MODE}) is ready on http://{host}:{port}/ - Ctrl-C stops it.{note}",
          file=sys.stderr, flush=True)


def serve() -> None:
    """Serve as `make run` does: on a socket of our own (deploy/serving.py), with the mode's server.

    Bind first, then start the background work: a taken port ends the process
    before anything touches the database.
    """
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    log_output = os.environ.get("ACCESS_LOG", "0") == "1"
    if ASYNC_MODE == "threading":
        # Werkzeug's development server, the only one threading mode has (what
        # `socketio.run` starts): it binds without SO_REUSEPORT when made, and
        # exits on a taken port itself.
        server = make_server(host, port, app, threaded=True)
        start_background_work()
        socketio.start_background_task(_say_when_ready, host, port)
        server.serve_forever()
        return
    listener = serving.listen(host, port, ASYNC_MODE)
    start_background_work()
    socketio.start_background_task(_say_when_ready, host, port)
    serving.serve(app, listener, ASYNC_MODE, log_output=log_output,
                  max_connections=int(os.environ.get("MAX_CONNECTIONS", "20000")))


if __name__ == "__main__":
    serve()
