"""A real server, started the way `make run` starts it, for tests that need one."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

# free_port and wait_until live in deploy/processes.py; tests import them from here too.
from deploy.processes import free_port, stop_group, wait_until

ROOT = Path(__file__).resolve().parent.parent


class LiveServer:
    """`make run` on a free port with its own database and instance folder."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "server.log"
        self.env = {
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DATABASE_URL": f"sqlite:///{workdir / 'live.db'}",
            "INSTANCE_PATH": str(workdir / "instance"),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        if "REDIS_URL" not in (env or {}):
            # One process unless a test asks for the message queue.
            self.env.pop("REDIS_URL", None)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> LiveServer:
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            ["make", "-s", "run", f"PORT={self.port}", "HOST=127.0.0.1"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self._healthy, timeout=60, interval=0.1, message=f"{self.url}/healthz")
        return self

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"server exited: {self.log_path.read_text()[-2000:]}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def flask(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run a `.venv/bin/flask` command against this server's database and queue."""
        return subprocess.run(
            [str(ROOT / ".venv/bin/flask"), *args], cwd=ROOT, env=env or self.env,
            capture_output=True, text=True, timeout=60,
        )

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        stop_group(self.process, signal.SIGTERM)
        self.log.close()


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=5)
    match = CSRF.search(page.text) or re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, f"no csrf_token on {url}"
    return match.group(1)


def register(base: str, username: str, password: str = "password1") -> requests.Session:
    """Sign up through the real form and return the signed-in HTTP session."""
    session = requests.Session()
    token = csrf_token(session, f"{base}/auth/register")
    response = session.post(
        f"{base}/auth/register",
        data={"csrf_token": token, "username": username, "email": f"{username}@example.com",
              "password": password, "confirm": password},
        allow_redirects=False, timeout=5,
    )
    assert response.status_code == 302, response.text[:500]
    return session


def post_form(session: requests.Session, base: str, page: str, action: str, data: dict):
    """POST a form with the CSRF token taken from `page`, as a browser would."""
    token = csrf_token(session, f"{base}{page}")
    return session.post(f"{base}{action}", data={"csrf_token": token, **data},
                        allow_redirects=False, timeout=10)


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def post_together(session: requests.Session, urls: list[str], token: str) -> list[int]:
    """POST every URL at the same moment, each on a connection of its own; return the statuses.

    Each request carries `session`'s cookies and the CSRF `token`: one user
    racing against themselves, as double clicks and several devices do.
    """
    start = threading.Barrier(len(urls))

    def post(url: str) -> int:
        racer = requests.Session()
        racer.cookies.update(session.cookies)
        start.wait()
        return racer.post(url, data={"csrf_token": token}, allow_redirects=False,
                          timeout=30).status_code

    with ThreadPoolExecutor(len(urls)) as pool:
        return list(pool.map(post, urls))
