"""Entry point for `make run`: patch the standard library first, then serve.

Monkey-patching happens here and only here, before anything else is imported,
so `fitness_app` itself never depends on eventlet. ASYNC_MODE=gevent switches
to the documented alternative; ASYNC_MODE=threading needs no patching.
"""

import gc
import os
import sys

# The `flask` command imports Flask before this file, too late to patch safely;
# its commands do not serve, so they run unpatched in threading mode.
SERVING = "flask" not in sys.modules
ASYNC_MODE = os.environ.get("ASYNC_MODE", "eventlet") if SERVING else "threading"
os.environ["ASYNC_MODE"] = ASYNC_MODE
if ASYNC_MODE == "eventlet":
    import eventlet

    eventlet.monkey_patch()
    # psycopg 3 notices gevent's patching but not eventlet's: left alone, its C
    # wait would freeze every connection of the worker while a PostgreSQL
    # query runs. With wait_select it waits through the patched select().
    os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
elif ASYNC_MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()

if SERVING:
    # A full collection walks every object: about 1 s with 10,000 sockets held,
    # a pause every client feels. With the default 700-object young generation,
    # each broadcast promoted enough in-flight packets to set one off every
    # third round (bench/run.py). A young generation of 100,000 lets them die
    # young; the rarer young collections cost no measurable latency.
    gc.set_threshold(100_000, 10, 10)

from fitness_app import create_app  # noqa: E402
from fitness_app.extensions import socketio  # noqa: E402
from fitness_app.services import passwords  # noqa: E402

app = create_app(os.environ.get("FLASK_CONFIG", "development"))

# Password hashing runs in real OS threads; each mode has its own pool, and
# only this file may name eventlet or gevent (fitness_app/services/passwords.py).
if ASYNC_MODE == "eventlet":
    from eventlet import tpool

    passwords.use_thread_pool(tpool.execute)
elif ASYNC_MODE == "gevent":
    from gevent import get_hub

    passwords.use_thread_pool(lambda work, *args: get_hub().threadpool.apply(work, args))

if __name__ == "__main__":
    options = {}
    if ASYNC_MODE == "eventlet":
        # eventlet's WSGI server holds 1024 connections unless told otherwise.
        options["max_size"] = int(os.environ.get("MAX_CONNECTIONS", "20000"))
    socketio.run(
        app,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "5000")),
        log_output=os.environ.get("ACCESS_LOG", "0") == "1",
        **options,
    )
