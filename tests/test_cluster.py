"""Two workers behind nginx, sharing PostgreSQL and Redis: the layout deploy/ describes.

The module starts what `make cluster` starts (deploy/cluster.py's `Cluster`):
two gunicorn gevent workers (gunicorn 27) and an nginx with ip_hash, all on 127.0.0.1 and
free ports, plus a redis-server of its own (so stopping it never touches the
machine's shared Redis) and a PostgreSQL schema of its own. Clients are
python-socketio's `Client`, signed in through nginx.

With ip_hash every client on this machine reaches the same worker through
nginx; the access log names it, and the tests make notifications on the other
one by calling it directly.

Skips loudly without PostgreSQL, redis-server or nginx, and fails instead
when the CI variable is set, because CI must run it (tests/services.py).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
import socketio
import sqlalchemy as sa

from deploy.cluster import Cluster, find_nginx
from deploy.processes import RedisServer
from tests.databases import PG_SKIP_REASON, postgres_schema
from tests.live import (
    ROOT,
    cookie_header,
    csrf_token,
    free_port,
    post_together,
    register,
    wait_until,
)
from tests.services import redis_server_reason, require

pytestmark = pytest.mark.cluster




@pytest.fixture(scope="module")
def services(request: pytest.FixtureRequest) -> Iterator[tuple[Cluster, RedisServer]]:
    require("PostgreSQL", PG_SKIP_REASON)
    require("redis-server", redis_server_reason())
    require("nginx", None if find_nginx() else "no nginx (Debian: apt-get install nginx-light)")
    failures_before = request.session.testsfailed
    # Not pytest's tmp_path: nginx started as root serves as `nobody`, which
    # cannot enter pytest's private directories.
    run_dir = Path(tempfile.mkdtemp(prefix="fitness-cluster-"))
    redis_server = RedisServer(run_dir).start()
    try:
        with postgres_schema() as database_url:
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_server.url,
                "SOCKETIO_CHANNEL": f"cluster-{uuid.uuid4().hex}",
                "SECRET_KEY": secrets.token_hex(32),
                "INSTANCE_PATH": str(run_dir / "instance"),
                "FLASK_CONFIG": "development",
                "PRESENCE_INTERVAL_SECONDS": "0.25",
                "PRESENCE_TTL_SECONDS": "3",
                "PYTHONUNBUFFERED": "1",
            }
            cluster = Cluster(run_dir, free_port(), [free_port(), free_port()], env, find_nginx())
            try:
                cluster.migrate()
                cluster.start()
                yield cluster, redis_server
            finally:
                cluster.stop()
    finally:
        redis_server.stop()
        if request.session.testsfailed == failures_before:
            shutil.rmtree(run_dir, ignore_errors=True)
        else:
            print(f"\ncluster logs kept in {run_dir}")


@pytest.fixture
def cluster(services: tuple[Cluster, RedisServer]) -> Cluster:
    return services[0]


class SocketClient:
    """python-socketio's Client with a session cookie, reconnecting on its own.

    `auth` is a callable, so each reconnect sends the highest id received so
    far; `last_id` starts it where a page loaded earlier left off.
    """

    def __init__(self, base: str, session: requests.Session, transports: list[str],
                 last_id: int = 0) -> None:
        self.base = base
        self.session = session
        self.transports = transports
        self.start_id = last_id
        self.received: dict[int, dict[str, Any]] = {}
        self.presence: list[dict[str, int]] = []
        self.connects = 0
        self.disconnects: list[str] = []
        self._changed = threading.Condition()
        self.client = socketio.Client(reconnection_delay=0.5, reconnection_delay_max=2)
        self.client.on("connect", self._on_connect)
        self.client.on("disconnect", self._on_disconnect)
        self.client.on("notification", self._on_notification)
        self.client.on("presence", self._on_presence)

    @property
    def last_id(self) -> int:
        with self._changed:
            return max(self.received, default=self.start_id)

    def _on_connect(self) -> None:
        with self._changed:
            self.connects += 1
            self._changed.notify_all()

    def _on_disconnect(self, reason: str = "") -> None:
        with self._changed:
            self.disconnects.append(reason)
            self._changed.notify_all()

    def _on_notification(self, payload: dict[str, Any]) -> None:
        with self._changed:
            self.received.setdefault(payload["id"], payload)
            self._changed.notify_all()

    def _on_presence(self, payload: dict[str, int]) -> None:
        with self._changed:
            self.presence.append(payload)
            self._changed.notify_all()

    def connect(self) -> SocketClient:
        self.client.connect(
            self.base, headers={"Cookie": cookie_header(self.session)},
            transports=self.transports, auth=lambda: {"last_id": self.last_id}, wait_timeout=10,
        )
        return self

    def _wait(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        with self._changed:
            assert self._changed.wait_for(condition, timeout), (
                f"{self.transports} client on {self.base}: no {what} after {timeout}s; "
                f"received {sorted(self.received)}, {self.connects} connects"
            )

    def wait_for(self, ids: set[int], timeout: float = 15) -> None:
        self._wait(lambda: ids <= self.received.keys(), timeout, f"notifications {sorted(ids)}")

    def wait_for_connects(self, count: int, timeout: float = 15) -> None:
        self._wait(lambda: self.connects >= count, timeout, f"connect number {count}")

    def wait_for_server_disconnect(self, timeout: float = 15) -> None:
        reason = self.client.reason.SERVER_DISCONNECT
        self._wait(lambda: reason in self.disconnects, timeout, "disconnect by the server")

    def wait_for_presence(self, users: int, connections: int, timeout: float = 15) -> None:
        expected = {"users": users, "connections": connections}
        self._wait(lambda: self.presence[-1:] == [expected], timeout, f"presence {expected}")


@pytest.fixture
def sockets() -> Iterator[Callable[..., SocketClient]]:
    """Open clients; every one is closed at the end of the test, passed or failed."""
    opened: list[SocketClient] = []

    def open_client(base: str, session: requests.Session, transports: list[str],
                    last_id: int = 0) -> SocketClient:
        client = SocketClient(base, session, transports, last_id)
        opened.append(client)
        return client.connect()

    yield open_client
    for client in opened:
        client.client.disconnect()


def name(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def sign_up(cluster: Cluster, prefix: str) -> requests.Session:
    """Register through nginx; the cookie is good on every worker (one SECRET_KEY)."""
    return register(cluster.url, name(prefix))


def nginx_worker(cluster: Cluster) -> int:
    """The worker nginx sends this machine to: ip_hash maps all of 127.0.0.1 to one."""
    probe = uuid.uuid4().hex
    assert requests.get(f"{cluster.url}/healthz?probe={probe}", timeout=5).status_code == 200

    def logged() -> str | None:
        lines = cluster.access_log.read_text().splitlines()
        return next((line for line in lines if probe in line), None)

    upstream = wait_until(logged, timeout=5, message="the probe in nginx's access log")
    return cluster.worker_ports.index(int(upstream.rsplit(":", 1)[1]))


def notify_through(session: requests.Session, base: str, title: str) -> int:
    """Log a completed workout on the worker at `base`; return its notification's id."""
    token = csrf_token(session, f"{base}/workouts/new")
    response = session.post(
        f"{base}/workouts/new",
        data={"csrf_token": token, "title": title, "activity": "run", "duration_minutes": "30",
              "distance_km": "5", "performed_on": date.today().isoformat(), "completed": "y"},
        allow_redirects=False, timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
    return next(n["id"] for n in stored(session, base) if title in n["message"])


def stored(session: requests.Session, base: str) -> list[dict[str, Any]]:
    response = session.get(f"{base}/api/notifications?after=0", timeout=10)
    assert response.status_code == 200
    return response.json()["notifications"]


def flask(cluster: Cluster, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "fitness_app", *args],
        cwd=ROOT, env=cluster.env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_websocket_and_polling_clients_get_what_the_other_worker_made(cluster, sockets):
    ann = sign_up(cluster, "ann")
    near = nginx_worker(cluster)
    far = 1 - near
    websocket = sockets(cluster.url, ann, ["websocket"])
    polling = sockets(cluster.url, ann, ["polling"])
    on_far = sockets(cluster.worker_url(far), ann, ["websocket"])
    bob = sign_up(cluster, "bob")
    bob_socket = sockets(cluster.worker_url(far), bob, ["polling"])
    assert (websocket.client.transport(), polling.client.transport()) == ("websocket", "polling")

    from_far = notify_through(ann, cluster.worker_url(far), "Made on the far worker")
    from_near = notify_through(ann, cluster.worker_url(near), "Made on the near worker")
    for client in (websocket, polling, on_far):
        client.wait_for({from_far, from_near})
    message = websocket.received[from_far]["message"]
    assert message == "Made on the far worker, 5 km in 30 min"

    text = f"Pool closed {uuid.uuid4().hex[:6]}"
    announced = int(re.search(r"Announcement (\d+)", flask(cluster, "announce", text)).group(1))
    for client in (websocket, polling, on_far, bob_socket):
        client.wait_for({announced})
        assert client.received[announced]["message"] == text
    assert bob_socket.received.keys() == {announced}


def test_fifty_concurrent_completions_on_both_workers_notify_once(cluster, sockets):
    carl = sign_up(cluster, "carl")
    token = csrf_token(carl, f"{cluster.url}/goals/new")
    goal = carl.post(
        f"{cluster.url}/goals/new", allow_redirects=False, timeout=10,
        data={"csrf_token": token, "kind": "workouts", "target": "1", "period": "week"},
    )
    assert goal.status_code == 302
    token = csrf_token(carl, f"{cluster.url}/workouts/new")
    planned = carl.post(
        f"{cluster.url}/workouts/new", allow_redirects=False, timeout=10,
        data={"csrf_token": token, "title": "Planned tempo", "activity": "run",
              "duration_minutes": "40", "distance_km": "8",
              "performed_on": date.today().isoformat()},
    )
    assert planned.status_code == 302
    page = carl.get(f"{cluster.url}/workouts/", timeout=10).text
    workout_id = int(re.search(r"/workouts/(\d+)/complete", page).group(1))
    watcher = sockets(cluster.url, carl, ["websocket"])
    token = csrf_token(carl, f"{cluster.url}/workouts/")
    urls = [f"{cluster.worker_url(n % 2)}/workouts/{workout_id}/complete" for n in range(50)]
    statuses = post_together(carl, urls, token)

    assert statuses == [302] * 50
    kinds = [n["kind"] for n in stored(carl, cluster.url)]
    assert sorted(kinds) == ["goal_achieved", "workout_completed"]
    engine = sa.create_engine(cluster.env["DATABASE_URL"])
    with engine.connect() as conn:
        achievements = conn.execute(sa.text("SELECT count(*) FROM achievements")).scalar()
    engine.dispose()
    assert achievements == 1
    watcher.wait_for({n["id"] for n in stored(carl, cluster.url)})
    assert len(watcher.received) == 2


def test_logging_out_on_one_worker_closes_the_sockets_on_the_other(cluster, sockets):
    eve = sign_up(cluster, "eve")
    far = 1 - nginx_worker(cluster)
    through_nginx = sockets(cluster.url, eve, ["websocket"])
    on_far = sockets(cluster.worker_url(far), eve, ["polling"])
    token = csrf_token(eve, f"{cluster.worker_url(far)}/")
    signed_out = eve.post(f"{cluster.worker_url(far)}/auth/logout", allow_redirects=False,
                          data={"csrf_token": token}, timeout=10)
    assert signed_out.status_code == 302
    for client in (through_nginx, on_far):
        client.wait_for_server_disconnect()


def test_signing_out_everywhere_ends_every_login_on_every_worker(cluster, sockets):
    fay = sign_up(cluster, "fay")
    near = nginx_worker(cluster)
    far = 1 - near
    phone = requests.Session()
    token = csrf_token(phone, f"{cluster.worker_url(far)}/auth/login")
    page = fay.get(f"{cluster.url}/", timeout=10).text
    username = re.search(r"<span class=\"username\">(\w+)</span>", page).group(1)
    signed_in = phone.post(f"{cluster.worker_url(far)}/auth/login", allow_redirects=False,
                           timeout=10, data={"csrf_token": token, "remember": "y",
                                             "email": f"{username}@example.com",
                                             "password": "password1"})
    assert signed_in.status_code == 302
    laptop_socket = sockets(cluster.worker_url(near), fay, ["websocket"])
    phone_socket = sockets(cluster.worker_url(far), phone, ["polling"])
    token = csrf_token(fay, f"{cluster.worker_url(near)}/")
    ended = fay.post(f"{cluster.worker_url(near)}/auth/logout-everywhere",
                     allow_redirects=False, data={"csrf_token": token}, timeout=10)
    assert ended.status_code == 302
    for client in (laptop_socket, phone_socket):
        client.wait_for_server_disconnect()
    for session in (fay, phone):
        for worker in (near, far):
            answer = session.get(f"{cluster.worker_url(worker)}/", allow_redirects=False,
                                 timeout=10)
            assert answer.status_code == 302


def test_a_redis_restart_loses_no_notification(services, sockets):
    cluster, redis_server = services
    bea = sign_up(cluster, "bea")
    near = nginx_worker(cluster)
    far = 1 - near
    websocket = sockets(cluster.url, bea, ["websocket"])
    polling = sockets(cluster.url, bea, ["polling"])
    on_far = sockets(cluster.worker_url(far), bea, ["websocket"])
    first = notify_through(bea, cluster.worker_url(far), "Before the outage")
    for client in (websocket, polling, on_far):
        client.wait_for({first})

    redis_server.stop()
    try:
        # Requests keep succeeding; each worker still reaches its own clients.
        missed = notify_through(bea, cluster.worker_url(far), "Far, Redis down")
        local = notify_through(bea, cluster.worker_url(near), "Near, Redis down")
        assert bea.get(f"{cluster.url}/notifications/", timeout=10).status_code == 200
        websocket.wait_for({local})
        polling.wait_for({local})
        on_far.wait_for({missed})
        # The gap pub/sub leaves: the near worker never heard of `missed`, and its
        # clients' last_id already passed it.
        assert missed not in websocket.received and websocket.last_id > missed
        # A page loaded now starts from that last_id; connecting needs no Redis.
        reloaded = sockets(cluster.url, bea, ["websocket"], last_id=websocket.last_id)
    finally:
        redis_server.start()

    subscribers = redis.Redis.from_url(redis_server.url)
    channel = cluster.env["SOCKETIO_CHANNEL"]
    wait_until(lambda: subscribers.pubsub_numsub(channel)[0][1] == 2, timeout=20,
               message="both workers to subscribe again")
    subscribers.close()
    after = notify_through(bea, cluster.worker_url(far), "After the outage")
    everything = {n["id"] for n in stored(bea, cluster.url)}
    assert everything == {first, missed, local, after}
    # Live delivery is back, and each worker resent what its clients missed,
    # without a reconnect: no client's last_id skips a lost id any more.
    for client in (websocket, polling, on_far):
        client.wait_for(everything)
        assert client.connects == 1
    reloaded.wait_for({missed, after})
    # And a reconnect, with the last_id each client now holds, loses nothing.
    for client in (websocket, polling):
        client.client.disconnect()
        client.connect()
        client.wait_for_connects(2)
        assert client.received.keys() == everything


def test_killing_a_worker_loses_no_notification(cluster, sockets):
    dee = sign_up(cluster, "dee")
    near = nginx_worker(cluster)
    far = 1 - near
    boss_name = name("boss")
    flask(cluster, "create-admin", "--email", f"{boss_name}@example.com", "--username",
          boss_name, "--password", "boss-password")
    boss = requests.Session()
    token = csrf_token(boss, f"{cluster.worker_url(far)}/auth/login")
    signed_in = boss.post(f"{cluster.worker_url(far)}/auth/login", allow_redirects=False,
                          data={"csrf_token": token, "email": f"{boss_name}@example.com",
                                "password": "boss-password"}, timeout=10)
    assert signed_in.status_code == 302
    admin = sockets(cluster.worker_url(far), boss, ["websocket"])
    websocket = sockets(cluster.url, dee, ["websocket"])
    polling = sockets(cluster.url, dee, ["polling"])
    # Presence counts the connections of both workers (earlier tests' clients are gone).
    admin.wait_for_presence(users=2, connections=3)
    first = notify_through(dee, cluster.worker_url(far), "Before the crash")
    websocket.wait_for({first})
    polling.wait_for({first})

    cluster.kill_worker(near)
    try:
        # Made while the clients find their way through nginx to the far worker.
        during = {notify_through(dee, cluster.worker_url(far), f"During {n}") for n in range(3)}
        websocket.wait_for_connects(2)
        polling.wait_for_connects(2)
        after = notify_through(dee, cluster.worker_url(far), "After the reconnect")
        everything = {n["id"] for n in stored(dee, cluster.worker_url(far))}
        assert everything == {first, after} | during
        for client in (websocket, polling):
            client.wait_for(everything)
        # The dead worker's entries leave the count when its heartbeat key expires.
        keys = redis.Redis.from_url(cluster.env["REDIS_URL"])
        prefix = f"fitness:{cluster.env['SOCKETIO_CHANNEL']}:presence:*"
        wait_until(lambda: len(list(keys.scan_iter(match=prefix))) == 1, timeout=10,
                   message="the dead worker's presence hash to expire")
        keys.close()
        admin.wait_for_presence(users=2, connections=3)
    finally:
        cluster.start_worker(near)


def test_cleanup_leaves_no_process_behind(services):
    """The last test: stopping the cluster ends every process it started."""
    cluster, redis_server = services
    processes = [p for p in [*cluster.workers, cluster.nginx_process, redis_server.process] if p]
    cluster.stop()
    redis_server.stop()
    for process in processes:
        assert process.poll() is not None
        with pytest.raises(ProcessLookupError):
            os.killpg(process.pid, 0)
