"""A second `make run` on a port another server holds says so and stops, instead of sharing it."""

from __future__ import annotations

import signal
import subprocess

import pytest
import requests

from tests.live import ROOT, LiveServer, stop_group, wait_until

pytestmark = pytest.mark.live


@pytest.mark.parametrize(("first_mode", "second_mode"),
                         [("eventlet", "eventlet"), ("gevent", "gevent"),
                          ("gevent", "eventlet")])
def test_a_second_make_run_on_a_taken_port_says_so_and_stops(tmp_path, first_mode, second_mode):
    (tmp_path / "first").mkdir()
    with LiveServer(tmp_path / "first", env={"ASYNC_MODE": first_mode}) as first:
        log_path = tmp_path / "second.log"
        env = {**first.env, "ASYNC_MODE": second_mode,
               "DATABASE_URL": f"sqlite:///{tmp_path / 'second.db'}",
               "INSTANCE_PATH": str(tmp_path / "second-instance")}
        with open(log_path, "wb") as log:
            second = subprocess.Popen(
                ["make", "-s", "run", f"PORT={first.port}", "HOST=127.0.0.1"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until(lambda: second.poll() is not None or "is ready" in log_path.read_text(),
                       timeout=90, interval=0.1, message="the second server to stop or serve")
            output = log_path.read_text()
            assert second.poll() not in (None, 0), output
        finally:
            stop_group(second, signal.SIGTERM)
        assert f"port {first.port} on 127.0.0.1 is taken" in output
        assert "is ready" not in output
        # The first server still answers every request alone.
        with requests.Session() as session:
            for _ in range(20):
                assert session.get(f"{first.url}/healthz", timeout=5).status_code == 200
        assert first.process.poll() is None
