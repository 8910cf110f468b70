"""Helpers for starting local processes and waiting on them, shared by deploy/, tests/ and bench/.

`make cluster`, the test suite and `make bench` all start servers on free
ports of 127.0.0.1, wait for them with a deadline, and stop them with their
whole process group; each of those steps lives here once.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def free_port() -> int:
    """A port nothing listens on now, so runs never collide with each other or `make run`."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], T], timeout: float = 10.0, message: str = "",
               interval: float = 0.05) -> T:
    """Poll `condition` until it returns something truthy, and return that.

    Raises TimeoutError after `timeout` seconds, naming `message`, so no wait
    lasts forever; a condition may raise to give up early.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g}s waiting for {message or condition}")
        time.sleep(interval)


def http_ok(url: str) -> bool:
    """Whether `url` answers 200 now: the health check every start-up waits for."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _runs_in_group(group: int) -> bool:
    """Whether a process of `group` still runs: zombies do not, they hold no port or file.

    A grandchild whose parent died first (`make run`'s shell, say) is a zombie
    until init reaps it, and some inits do that only every second or so;
    waiting for it cost each stopped server 1.5-2 s. Without /proc, every
    member counts as running.
    """
    stats = glob.glob("/proc/[0-9]*/stat")
    if not stats:
        return True
    for path in stats:
        try:
            with open(path) as stat:
                # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
                state, _ppid, pgrp = stat.read().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue  # gone meanwhile
        if int(pgrp) == group and state != "Z":
            return True
    return False


def stop_group(process: subprocess.Popen | None, first_signal: int = signal.SIGTERM,
               grace: float = 10) -> None:
    """Signal the process's whole group, then SIGKILL whatever is left after `grace` seconds.

    The group, not the process: `make run` and gunicorn leave children (a
    gunicorn worker whose master died keeps serving on the master's socket).
    The process must have been started with `start_new_session=True`.
    """
    if process is None:
        return

    def group_gone() -> bool:
        process.poll()  # reap the leader, or it would count as a member
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        return not _runs_in_group(process.pid)

    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, first_signal)
    try:
        wait_until(group_gone, grace, f"process group {process.pid} to exit")
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _redis_answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")
    return False


class RedisServer:
    """A private redis-server on a free port, without persistence.

    Private, so stopping it, killing its clients or flushing it never touches
    the machine's shared Redis or another run's channels.
    """

    def __init__(self, workdir: Path, name: str = "redis") -> None:
        self.workdir = workdir
        self.name = name
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_path = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                "--appendonly", "no", "--dir", str(self.workdir)]

    def start(self) -> RedisServer:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command(), stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(self._ready, 15, f"{self.name} on port {self.port}")
        return self

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-2000:]}")
        return _redis_answers(self.port)

    def call(self, *args: str) -> bytes:
        """One command through redis-cli, for tests and the bench; fails if it fails."""
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], check=True,
                              capture_output=True, timeout=10).stdout

    def flush(self) -> None:
        self.call("FLUSHALL")

    def stop(self) -> None:
        stop_group(self.process, signal.SIGTERM)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RedisSentinel(RedisServer):
    """`redis-server --sentinel` watching `master` under `service`, on a free port."""

    def __init__(self, workdir: Path, master: RedisServer, service: str) -> None:
        super().__init__(workdir, name="sentinel")
        self.master = master
        self.service = service
        self.url = f"redis+sentinel://127.0.0.1:{self.port}/0/{service}"

    def command(self) -> list[str]:
        # Sentinel rewrites its configuration file, so it gets one of its own.
        config = self.workdir / f"sentinel-{self.port}.conf"
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.workdir}\n"
            f"sentinel monitor {self.service} 127.0.0.1 {self.master.port} 1\n"
        )
        return ["redis-server", str(config), "--sentinel"]

    def _ready(self) -> bool:
        if not super()._ready():
            return False
        # Answers only once it knows the master it was told to watch.
        return b"ip" in self.call("SENTINEL", "MASTER", self.service)


def have_redis_server() -> bool:
    return shutil.which("redis-server") is not None and shutil.which("redis-cli") is not None


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries: PG_BIN, else Debian's /usr/lib/postgresql/N/bin."""
    candidates = [os.environ.get("PG_BIN", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                         key=lambda path: int(Path(path).parent.name), reverse=True)
    return next((Path(path) for path in candidates if path and (Path(path) / "initdb").exists()),
                None)


class PostgresServer:
    """A private PostgreSQL: `initdb` into a temporary directory, served on a free port.

    Private, so a test or the soak may stop it under a running app (to see
    what users meet while the database is away) without touching the shared
    server other engineers' tests use. Stopped and started again, it keeps its
    data: a restart, as an upgrade or a failover does it. Tuned for tests (no
    fsync): a crash of the machine may lose it, a stop never does.

    initdb and the server refuse to run as root, so as root both run as the
    `postgres` user (Debian's package creates it), which then owns the directory.
    """

    def __init__(self, name: str = "postgres") -> None:
        self.bin = postgres_bin()
        if self.bin is None:
            raise RuntimeError("no PostgreSQL server binaries (Debian: apt-get install postgresql)")
        self.name = name
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.root = Path(tempfile.mkdtemp(prefix=f"fitness-{name}-"))
        self.data = self.root / "data"
        self.log_path = self.root / f"{name}.log"
        self._as_owner: list[str] = []
        if os.geteuid() == 0:
            self._as_owner = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres", "postgres")
        self.process: subprocess.Popen[bytes] | None = None

    def _run(self, *command: str) -> None:
        result = subprocess.run([*self._as_owner, *command], capture_output=True, text=True,
                                timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{command[0]} failed:\n{result.stdout}{result.stderr}")

    def start(self) -> PostgresServer:
        """Create the cluster the first time, then serve it and wait until it accepts queries."""
        if not self.data.exists():
            self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                      "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [*self._as_owner, str(self.bin / "postgres"), "-D", str(self.data),
                 "-p", str(self.port), "-h", "127.0.0.1", "-k", str(self.root),
                 "-c", "fsync=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=200"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        wait_until(self._ready, 60, f"{self.name} on port {self.port}", interval=0.1)
        return self

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-2000:]}")
        return subprocess.run(
            [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
            timeout=10,
        ).returncode == 0

    def stop(self, mode: str = "fast") -> None:
        """`pg_ctl stop`: "fast" ends every session (their queries fail with
        AdminShutdown) as a restart for an upgrade does; "immediate" is a crash."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
        stop_group(self.process, signal.SIGQUIT)

    def close(self) -> None:
        """Stop it and delete its data."""
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
