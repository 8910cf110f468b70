"""The processes a bench run starts: the servers it measures, the load client, py-spy.

`Server` starts `app.py` or `bench/bare.py` the way `make run` does (under the
loop-lag probe, `bench/probed.py`), or the app under gunicorn as deploy/ does; a
`Tree` says whose `app.py` and venv (this tree's, or a baseline commit's
built by `bench/baseline.py`);
`LoadClient` drives `bench/client.js` one JSON command per line, each with a
deadline; `profiled` samples a server with py-spy. CPU and memory figures are
read from /proc. Everything started here is stopped by its process group.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import resource
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deploy.processes import free_port, stop_group, wait_until

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENV_BIN = ROOT / ".venv" / "bin"
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Tree:
    """A source tree whose app a bench serves: its root and the venv it runs from."""

    root: Path
    venv_bin: Path
    label: str = "this tree"


HERE = Tree(ROOT, VENV_BIN)


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the figures."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def raise_fd_limit(needed: int) -> int:
    """Lift the soft `ulimit -n` to the hard limit; children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < needed:
        log(f"warning: hard ulimit -n is {hard}, below the {needed} descriptors this run needs")
    return hard


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process, from /proc."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_bytes(pid: int) -> int:
    """Resident memory of one process, from /proc: what the RSS-per-socket figure divides."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Server:
    """One app.py or bare.py process on a free port of 127.0.0.1.

    `tree` serves another tree's app.py from its own folder and venv (the
    baseline of `--baseline`), under this tree's probe.
    """

    def __init__(self, kind: str, workdir: Path, name: str, env: dict[str, str],
                 gunicorn: bool = False, tree: Tree = HERE) -> None:
        self.kind = kind
        self.tree = tree
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.script = "bench/bare.py" if kind == "bare" else "app.py"
        self.gunicorn = gunicorn
        self.log_path = workdir / f"{name}.log"
        self.probe_path = workdir / f"{name}.lag"
        inherited = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
        self.env = {
            **inherited,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
            "ACCESS_LOG": "0",
            "PROBE_FILE": str(self.probe_path),
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as out:
            # The loop-lag probe wraps the scripts; gunicorn's worker runs without it.
            command = ([str(self.tree.venv_bin / "gunicorn"), "-c", "deploy/gunicorn.conf.py",
                        "-b", f"127.0.0.1:{self.port}"] if self.gunicorn
                       else [str(self.tree.venv_bin / "python"), str(BENCH / "probed.py"),
                             self.script])
            self.process = subprocess.Popen(
                command,
                cwd=self.tree.root,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._healthy, 60, f"{self.url}/healthz")

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.script} exited: {self.log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def lag(self, start: float, end: float) -> dict[str, Any]:
        """The loop-lag probe's samples taken between two `time.monotonic()` moments."""
        if self.gunicorn:
            return {"n": 0, "p99": None, "max": None}
        wait_until(lambda: self._probed_until() >= end, 5, "the probe's samples")
        lags = sorted(float(lag) for at, lag in self._samples() if start <= float(at) <= end)
        if not lags:
            return {"n": 0, "p99": None, "max": None}
        return {"n": len(lags), "p99": lags[min(len(lags) - 1, int(0.99 * len(lags)))],
                "max": lags[-1]}

    def collections(self, start: float, end: float) -> dict[str, Any]:
        """The garbage collections the probe timed between two moments: count, total, longest,
        and each as (monotonic start, generation, ms)."""
        path = self.probe_path.with_name(self.probe_path.name + ".gc")
        if self.gunicorn or not path.exists():
            return {"n": 0, "ms": 0.0, "maxMs": None, "byGeneration": {}, "each": []}
        found = [line.split() for line in path.read_text().splitlines() if line]
        found = [(float(at), int(gen), float(took)) for at, gen, took, _ in found
                 if start <= float(at) <= end]
        by_generation: dict[str, int] = {}
        for _, gen, _ in found:
            by_generation[str(gen)] = by_generation.get(str(gen), 0) + 1
        return {"n": len(found), "ms": sum(took for _, _, took in found),
                "maxMs": max((took for _, _, took in found), default=None),
                "byGeneration": by_generation, "each": found}

    def requests(self, start: float, end: float) -> list[tuple[float, list[float]]]:
        """The POSTs the probe timed (PROBE_REQUESTS=1) that started between two moments:
        (monotonic start, [wall, CPU ms to the first packet queued, to the first frame
        written, to the end])."""
        path = self.probe_path.with_name(self.probe_path.name + ".requests")
        if not path.exists():
            return []
        rows = [line.split() for line in path.read_text().splitlines() if line]
        return [(float(at), [float(v) for v in rest]) for at, *rest in rows
                if start <= float(at) <= end]

    def _samples(self) -> list[list[str]]:
        if not self.probe_path.exists():
            return []
        return [line.split() for line in self.probe_path.read_text().splitlines() if line]

    def _probed_until(self) -> float:
        samples = self._samples()
        return float(samples[-1][0]) if samples else 0.0

    @property
    def pid(self) -> int:
        """The serving process: under gunicorn its one worker, not the master."""
        if self.gunicorn:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            return int(children.read_text().split()[0])
        return self.process.pid

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid)

    def rss_bytes(self) -> int:
        return proc_rss_bytes(self.pid)

    def stop(self) -> None:
        stop_group(self.process, signal.SIGTERM)


class LoadClient:
    """bench/client.js, one JSON command per line; every call has a deadline."""

    def __init__(self, workdir: Path, max_seconds: int) -> None:
        with open(workdir / "client.log", "ab") as err:
            self.process = subprocess.Popen(
                ["node", str(BENCH / "client.js"), f"--max-seconds={max_seconds}"],
                cwd=BENCH,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                start_new_session=True,
            )
        self._lines: queue.Queue[str] = queue.Queue()
        self._seq = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line)

    def call(self, cmd: str, timeout: float, **args: Any) -> dict[str, Any]:
        """Run one command in the client; a late reply to an earlier call is skipped."""
        self._seq += 1
        self.process.stdin.write(json.dumps({"id": self._seq, "cmd": cmd, "args": args}) + "\n")
        self.process.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"client command {cmd} took longer than {timeout:.0f}s")
            try:
                reply = json.loads(self._lines.get(timeout=remaining))
            except queue.Empty:
                continue
            if reply.get("id") != self._seq:
                continue
            if not reply["ok"]:
                raise RuntimeError(f"client command {cmd} failed: {reply['error']}")
            return reply["result"]

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.process.pid)

    def close(self) -> None:
        with suppress(OSError):
            self.process.stdin.close()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@contextmanager
def profiled(args: argparse.Namespace, server: Server, name: str) -> Iterator[None]:
    """With --profile DIR, sample the server with py-spy while the block runs.

    Non-blocking sampling perturbs the server least; the flame graph's shape,
    not its absolute times, is what points at a hot spot.
    """
    if not args.profile:
        yield
        return
    args.profile.mkdir(parents=True, exist_ok=True)
    with open(args.profile / f"{name}.log", "ab") as out:
        spy = subprocess.Popen(
            [str(VENV_BIN / "py-spy"), "record", "--pid", str(server.pid), "--rate", "250",
             "--nonblocking", "--format", "raw", "--output", str(args.profile / f"{name}.txt")],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()
