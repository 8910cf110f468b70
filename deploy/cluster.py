"""Several fitness_app workers behind nginx on loopback: the production layout, to try out.

    make cluster                     # 2 workers, nginx on http://127.0.0.1:5000
    .venv/bin/python -m deploy.cluster --workers 3 --port 8080

Needs DATABASE_URL (PostgreSQL) and REDIS_URL in the environment. Brings the
schema up to date, starts one gunicorn per port with deploy/gunicorn.conf.py,
then an nginx whose site is deploy/nginx/fitness_app.conf rendered for these
ports. Every file they write (nginx config, pids, logs, temp files) lands in
--run-dir. Ctrl-C stops everything. tests/test_cluster.py drives the same
`Cluster` class, so what the tests check is what this script starts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from deploy.processes import http_ok, stop_group, wait_until

ROOT = Path(__file__).resolve().parent.parent
SITE_TEMPLATE = ROOT / "deploy" / "nginx" / "fitness_app.conf"
GUNICORN_CONFIG = ROOT / "deploy" / "gunicorn.conf.py"
NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
MIME_TYPES = Path("/etc/nginx/mime.types")


def find_nginx() -> str | None:
    """nginx on PATH or where Debian and source builds put it."""
    found = shutil.which("nginx")
    if found:
        return found
    return next((path for path in NGINX_CANDIDATES if os.access(path, os.X_OK)), None)


def render_site(template: str, listen: str, worker_ports: list[int], root: Path,
                access_log: Path) -> str:
    """The nginx site with its `# rendered` lines filled in for this machine.

    Fails loudly when the template and this function disagree, rather than
    starting an nginx that quietly proxies somewhere else.
    """
    out: list[str] = []
    seen: set[str] = set()
    for line in template.splitlines():
        if "# rendered" not in line:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        directive = line.split()[0]
        seen.add(directive)
        if directive == "server":
            if out[-1].strip().startswith("server "):
                continue  # the first worker line already produced all of them
            out.extend(f"{indent}server 127.0.0.1:{port};" for port in worker_ports)
        elif directive == "listen":
            out.append(f"{indent}listen {listen};")
        elif directive == "root":
            out.append(f"{indent}root {root};")
        elif directive == "access_log":
            out.append(f"{indent}access_log {access_log} fitness_app;")
        else:
            raise ValueError(f"{SITE_TEMPLATE}: no rule to render {line.strip()!r}")
    missing = {"server", "listen", "root", "access_log"} - seen
    if missing:
        raise ValueError(f"{SITE_TEMPLATE}: no `# rendered` line for {sorted(missing)}")
    return "\n".join(out) + "\n"


def render_main_config(run_dir: Path, site: Path) -> str:
    """A whole nginx.conf that writes only into `run_dir`, so it runs without root."""
    temp = run_dir / "nginx-temp"
    mime = f"include {MIME_TYPES};" if MIME_TYPES.exists() else "types { text/css css; }"
    return f"""# Rendered by deploy/cluster.py for a local trial.
worker_processes 1;
daemon off;
pid {run_dir / "nginx.pid"};
error_log {run_dir / "nginx-error.log"} notice;
events {{ worker_connections 4096; }}
http {{
    {mime}
    default_type application/octet-stream;
    client_body_temp_path {temp / "client_body"};
    proxy_temp_path {temp / "proxy"};
    fastcgi_temp_path {temp / "fastcgi"};
    uwsgi_temp_path {temp / "uwsgi"};
    scgi_temp_path {temp / "scgi"};
    include {site};
}}
"""


class Cluster:
    """gunicorn workers on `worker_ports` and nginx on `port`, all on 127.0.0.1."""

    def __init__(self, run_dir: Path, port: int, worker_ports: list[int],
                 env: Mapping[str, str], nginx: str) -> None:
        self.run_dir = run_dir
        self.port = port
        self.worker_ports = worker_ports
        self.env = dict(env)
        self.nginx = nginx
        self.url = f"http://127.0.0.1:{port}"
        self.access_log = run_dir / "nginx-access.log"
        self.workers: list[subprocess.Popen[bytes] | None] = [None] * len(worker_ports)
        self.nginx_process: subprocess.Popen[bytes] | None = None
        run_dir.mkdir(parents=True, exist_ok=True)
        # nginx started as root serves as `nobody`, which must reach its temp files.
        run_dir.chmod(0o755)

    def worker_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.worker_ports[index]}"

    def worker_log(self, index: int) -> Path:
        return self.run_dir / f"worker-{self.worker_ports[index]}.log"

    def migrate(self) -> None:
        """`flask db upgrade`, which also creates the shared secret key if none is set."""
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "fitness_app", "db", "upgrade"],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"flask db upgrade failed:\n{result.stdout}{result.stderr}")

    def start(self) -> Cluster:
        for index in range(len(self.worker_ports)):
            self.start_worker(index, wait=False)
        for index in range(len(self.worker_ports)):
            self.wait_for_worker(index)
        self.start_nginx()
        return self

    def start_worker(self, index: int, wait: bool = True) -> None:
        """One gunicorn, in a process group of its own so that it can be killed whole."""
        with open(self.worker_log(index), "ab") as log:
            self.workers[index] = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONFIG),
                 "-b", f"127.0.0.1:{self.worker_ports[index]}",
                 "-p", str(self.run_dir / f"worker-{self.worker_ports[index]}.pid")],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if wait:
            self.wait_for_worker(index)

    def wait_for_worker(self, index: int) -> None:
        process = self.workers[index]

        def healthy() -> bool:
            if process.poll() is not None:
                tail = self.worker_log(index).read_text(errors="replace")[-3000:]
                raise RuntimeError(f"worker on port {self.worker_ports[index]} exited:\n{tail}")
            return http_ok(f"{self.worker_url(index)}/healthz")

        wait_until(healthy, 60, f"{self.worker_url(index)}/healthz")

    def kill_worker(self, index: int) -> None:
        """SIGKILL: the worker vanishes without a goodbye, as in a crash."""
        stop_group(self.workers[index], signal.SIGKILL)

    def start_nginx(self) -> None:
        site = self.run_dir / "fitness_app.conf"
        site.write_text(render_site(
            SITE_TEMPLATE.read_text(), f"127.0.0.1:{self.port}", self.worker_ports, ROOT,
            self.access_log,
        ))
        (self.run_dir / "nginx-temp").mkdir(exist_ok=True)
        config = self.run_dir / "nginx.conf"
        config.write_text(render_main_config(self.run_dir, site))
        error_log = self.run_dir / "nginx-error.log"
        command = [self.nginx, "-p", str(self.run_dir), "-c", str(config), "-e", str(error_log)]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx rejected {config}:\n{checked.stderr}")
        self.nginx_process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

        def healthy() -> bool:
            if self.nginx_process.poll() is not None:
                raise RuntimeError(f"nginx exited:\n{error_log.read_text()[-3000:]}")
            return http_ok(f"{self.url}/healthz")

        wait_until(healthy, 30, f"{self.url}/healthz")

    def stop(self) -> None:
        """nginx first, then the workers (SIGINT: gunicorn's quick shutdown)."""
        stop_group(self.nginx_process, signal.SIGTERM)
        for process in self.workers:
            stop_group(process, signal.SIGINT)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes (default 2)")
    parser.add_argument("--port", type=int, default=5000, help="nginx port (default 5000)")
    parser.add_argument("--first-worker-port", type=int, default=8001,
                        help="worker N listens on this port + N (default 8001)")
    parser.add_argument("--run-dir", type=Path, default=ROOT / "instance" / "cluster",
                        help="nginx config, pid, logs and temp files (default instance/cluster)")
    args = parser.parse_args(argv)

    problems = []
    if not os.environ.get("DATABASE_URL", "").startswith(("postgresql", "postgres:")):
        problems.append("DATABASE_URL must name a PostgreSQL database, e.g. "
                        "postgresql+psycopg://postgres@127.0.0.1:5432/fitness")
    if not os.environ.get("REDIS_URL"):
        problems.append("REDIS_URL must name a Redis on loopback or a private network, "
                        "e.g. redis://127.0.0.1:6379/0")
    nginx = find_nginx()
    if nginx is None:
        problems.append("nginx is not installed (Debian: apt-get install nginx-light)")
    if problems:
        print("make cluster cannot start:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2

    ports = [args.first_worker_port + n for n in range(args.workers)]
    cluster = Cluster(args.run_dir.resolve(), args.port, ports, os.environ, nginx)
    # SIGTERM ends the wait below the way Ctrl-C does, so the cleanup runs; SIGINT
    # too when a shell started us in the background, with SIGINT ignored.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with cluster:
        cluster.migrate()
        cluster.start()
        print(f"fitness_app on {cluster.url} (nginx, ip_hash) -> workers on "
              f"{', '.join(str(p) for p in ports)}; logs in {cluster.run_dir}. Ctrl-C stops.",
              flush=True)
        try:
            while True:
                pid, status = os.wait()
                for index, process in enumerate(cluster.workers):
                    if process is not None and process.pid == pid:
                        print(f"worker on port {ports[index]} exited ({status}); nginx now sends "
                              "its clients to the others", flush=True)
                if cluster.nginx_process is not None and cluster.nginx_process.pid == pid:
                    print("nginx exited; stopping", file=sys.stderr)
                    return 1
        except KeyboardInterrupt:
            print("stopping", flush=True)
        except ChildProcessError:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
