"""Password hashing runs off the event loop, a few at a time, without a database connection.

The async modes are real only in a process the entry point patched, so each
mode runs in a subprocess that imports app.py exactly as `make run` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from fitness_app.services.accounts import passwords
from tests.live import ROOT

PROBE = r"""
import json, sys
import app as entry  # patches the standard library, builds the app, registers the pool

import sqlalchemy as sa
from fitness_app.extensions import db, socketio
from fitness_app.services.accounts import passwords

mode = entry.ASYNC_MODE
if mode == "eventlet":
    from eventlet import tpool
    pool = tpool.execute
elif mode == "gevent":
    from gevent import get_hub
    pool = lambda work, *args: get_hub().threadpool.apply(work, args)
else:
    pool = lambda work, *args: work(*args)

ticks = [0]
def ticker():
    while True:
        ticks[0] += 1
        socketio.sleep(0.001)

app = entry.app
result = {}
with app.app_context():
    socketio.start_background_task(ticker)
    socketio.sleep(0.05)
    db.session.execute(sa.text("SELECT 1"))  # a read transaction holds a connection
    before = ticks[0]
    stored = passwords.hash_password("correct horse")
    result["ticks_during_hash"] = ticks[0] - before
    result["matches"] = passwords.check_password(stored, "correct horse")
    result["mismatch"] = passwords.check_password(stored, "wrong horse")

    # The same pool, observed: how many hashes run at once, and who holds a connection.
    state = {"running": 0, "peak": 0, "connections": [], "done": 0}
    def observed(work, *args):
        state["running"] += 1
        state["peak"] = max(state["peak"], state["running"])
        state["connections"].append(db.engine.pool.checkedout())
        try:
            return pool(work, *args)
        finally:
            state["running"] -= 1
    passwords.use_thread_pool(observed)
    db.session.execute(sa.text("SELECT 1"))
    passwords.check_password(stored, "correct horse")
    result["connections_while_hashing"] = state["connections"][0]

    def sign_in():
        with app.app_context():
            passwords.check_password(stored, "correct horse")
        state["done"] += 1
    for _ in range(6):
        socketio.start_background_task(sign_in)
    while state["done"] < 6:
        socketio.sleep(0.01)
    result["peak"] = state["peak"]
print(json.dumps(result))
sys.stdout.flush()
import os; os._exit(0)
"""


@pytest.mark.parametrize("mode", ["eventlet", "gevent", "threading"])
def test_hashing_leaves_the_loop_serving_and_runs_a_few_at_a_time(mode, tmp_path):
    env = {
        **os.environ,
        "ASYNC_MODE": mode,
        "PASSWORD_HASH_CONCURRENCY": "2",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'probe.db'}",
        "INSTANCE_PATH": str(tmp_path / "instance"),
    }
    env.pop("REDIS_URL", None)
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["matches"] is True
    assert result["mismatch"] is False
    # On the loop, the ticker could not run at all while scrypt worked.
    assert result["ticks_during_hash"] > 0
    assert result["connections_while_hashing"] == 0
    assert 1 <= result["peak"] <= 2


def test_a_malformed_stored_hash_matches_nothing(app):
    with app.app_context():
        assert passwords.check_password("not-a-hash", "password1") is False
        assert passwords.check_password("pbkdf2:sha256:1$salt$00", "password1") is False
        assert passwords.check_password(passwords.hash_password("password1"), "password1")
