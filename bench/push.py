"""Web Push figures: a broadcast to 10,000 phones, a completion with three devices, crypto costs.

    .venv/bin/python -m bench.push [--users 10000] [--rounds 20]

Starts, on free ports of 127.0.0.1: the local push service (tests/pushservice.py,
in a process of its own, decrypting every message as a real one would), and
the app as `make run` starts it (eventlet, SQLite) wrapped in the loop-lag
probe (bench/probed.py). Users, logins and push devices are inserted straight
into a fresh database; each device's endpoint is a URL of its own at the
push service.

1. Broadcast: an admin posts an announcement while another signed-in user
   asks for `/api/notifications` every 20 ms. Printed: when the last push
   arrived, pushes per second and per CPU-second of the server, loop lag and
   the other user's latency meanwhile.
2. Completion: a user with three devices, one of them with a socket open
   (`auth.device`), completes a workout; the two pushes must leave within a
   second of COMMIT (measured from the POST being sent, an upper bound).
   Beside it, interleaved, the same POST by a user without devices: the loop
   thread's CPU per POST, which is what "the push work is off the request" means.
3. Where the time of one message goes: ECDH (a fresh key pair and the key
   agreement), AES-128-GCM, the ES256 signature, and pywebpush's whole encode.

Every phase has a deadline; everything started here is stopped on the way out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import requests
import socketio
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy.processes import free_port, stop_group, wait_until  # noqa: E402
from tests.live import cookie_header, post_form  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
PASSWORD = "bench-password"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def thread_cpu(pid: int, tid: int | None = None) -> float:
    """CPU seconds of a process, or of one of its threads (the loop is the main thread)."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Processes:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[subprocess.Popen] = []

    def push_service(self) -> tuple[str, dict, subprocess.Popen]:
        port = free_port()
        process = subprocess.Popen(
            [str(VENV_BIN / "python"), "-m", "tests.pushservice", "--port", str(port)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            start_new_session=True)
        self.started.append(process)
        keys = json.loads(process.stdout.readline())
        return f"http://127.0.0.1:{port}", keys, process

    def app(self, database: str, push_origin: str) -> tuple[str, subprocess.Popen, Path]:
        port = free_port()
        probe = self.workdir / "app.lag"
        env = {**{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")},
               "HOST": "127.0.0.1", "PORT": str(port), "DATABASE_URL": database,
               "INSTANCE_PATH": str(self.workdir / "instance"), "PYTHONUNBUFFERED": "1",
               "PUSH_SERVICES": push_origin, "PROBE_FILE": str(probe), "ASYNC_MODE": "eventlet"}
        subprocess.run([str(VENV_BIN / "flask"), "--app", "fitness_app", "db", "upgrade"],
                       cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
        out = open(self.workdir / "app.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([str(VENV_BIN / "python"), "bench/probed.py", "app.py"],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.started.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _ok(f"{url}/healthz"), 60, "the app")
        return url, process, probe

    def stop(self) -> None:
        for process in reversed(self.started):
            stop_group(process, signal.SIGTERM)


def _ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def populate(database: str, users: int, push_origin: str, keys: dict) -> None:
    """`users` people, each signed in once with one push device; plus the bench's own users."""
    engine = sa.create_engine(database)
    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO users (username, email, password_hash, is_admin, created_at,"
            " unread_count, read_through_id, announcements_after_id, timezone, muted, goal_count)"
            " VALUES (:u, :e, :p, :a, :c, 0, 0, 0, 'UTC', '', 0)"),
            [{"u": f"phone{i}", "e": f"phone{i}@example.com", "p": password_hash, "a": False,
              "c": now} for i in range(users)]
            + [{"u": name, "e": f"{name}@example.com", "p": password_hash, "a": name == "boss",
                "c": now} for name in ("boss", "other", "triple", "plain")])
        ids = dict(conn.execute(sa.text("SELECT username, id FROM users")).all())
        phones = [ids[f"phone{i}"] for i in range(users)]
        conn.execute(sa.text("INSERT INTO logins (user_id, token_hash, created_at)"
                             " VALUES (:u, :t, :c)"),
                     [{"u": uid, "t": hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
                       "c": now} for uid in phones])
        login_of = dict(conn.execute(sa.text("SELECT user_id, id FROM logins")).all())
        conn.execute(sa.text(
            "INSERT INTO push_devices (id, user_id, login_id, endpoint, p256dh, auth, browser,"
            " created_at) VALUES (:id, :u, :l, :e, :k, :a, 'Bench', :c)"),
            [{"id": f"bench{i:06d}", "u": uid, "l": login_of[uid],
              "e": f"{push_origin}/push/bench{i:06d}", "k": keys["p256dh"], "a": keys["auth"],
              "c": now} for i, uid in enumerate(phones)])
        # The counter the services keep with every device (a delivery reads it to know
        # whether Web Push has work for a user); rows written around them set it here.
        conn.execute(sa.text(
            "UPDATE users SET push_devices_count ="
            " (SELECT COUNT(*) FROM push_devices WHERE push_devices.user_id = users.id)"))
    engine.dispose()


def sign_in(url: str, name: str) -> requests.Session:
    session = requests.Session()
    response = post_form(session, url, "/auth/login", "/auth/login",
                         {"email": f"{name}@example.com", "password": PASSWORD})
    assert response.status_code == 302, response.text[:300]
    return session


def stats(push_origin: str) -> dict:
    return requests.get(f"{push_origin}/stats", timeout=30).json()


def lag(probe: Path, start: float, end: float) -> dict:
    wait_until(lambda: probe.exists() and float(probe.read_text().split()[-2]) >= end, 10,
               "the probe")
    values = sorted(float(lag) for at, lag in (line.split() for line in
                    probe.read_text().splitlines()) if start <= float(at) <= end)
    return {"p99_ms": values[int(0.99 * (len(values) - 1))], "max_ms": values[-1]}


def latencies(session: requests.Session, url: str, stop: threading.Event) -> list[float]:
    found: list[float] = []
    while not stop.is_set():
        started = time.perf_counter()
        session.get(f"{url}/api/notifications?after=0", timeout=30)
        found.append(time.perf_counter() - started)
        stop.wait(0.02)
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def broadcast(url: str, push_origin: str, app: subprocess.Popen, probe: Path,
              users: int) -> dict:
    boss, other = sign_in(url, "boss"), sign_in(url, "other")
    before = stats(push_origin)["received"]
    stop, samples = threading.Event(), []
    reader = threading.Thread(target=lambda: samples.extend(latencies(other, url, stop)))
    reader.start()
    time.sleep(1)  # a second of the other user's requests before the broadcast, for contrast
    cpu, started = thread_cpu(app.pid), time.monotonic()
    response = post_form(boss, url, "/admin/", "/admin/broadcast",
                         {"message": "Bench announcement"})
    assert response.status_code == 302
    posted = time.monotonic()
    wait_until(lambda: stats(push_origin)["received"] >= before + users, 180,
               f"{users} pushes", interval=0.5)
    arrived = max(stats(push_origin)["at"].values())
    used = thread_cpu(app.pid) - cpu
    stop.set()
    reader.join()
    seconds = arrived - started
    return {"pushes": users, "last_push_s": round(seconds, 2),
            "post_s": round(posted - started, 3), "pushes_per_s": round(users / seconds),
            "server_cpu_s": round(used, 2), "pushes_per_cpu_s": round(users / used),
            "lag": lag(probe, started, arrived),
            "others_p50_ms": round(percentile(samples, 0.5) * 1000, 1),
            "others_p99_ms": round(percentile(samples, 0.99) * 1000, 1),
            "others_max_ms": round(max(samples) * 1000, 1), "others_requests": len(samples)}


def completion(url: str, push_origin: str, app: subprocess.Popen, rounds: int) -> dict:
    triple, plain = sign_in(url, "triple"), sign_in(url, "plain")
    devices = []
    page = triple.get(f"{url}/settings/", timeout=5).text
    token = page.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]
    keys = stats_keys(push_origin)
    for name in ("tab", "phone", "tablet"):
        answer = triple.post(f"{url}/push/subscriptions", headers={"X-CSRFToken": token},
                             json={"endpoint": f"{push_origin}/push/triple-{name}",
                                   "keys": keys}, timeout=5)
        devices.append(answer.json()["id"])
    tab = socketio.Client(reconnection=False)
    tab.connect(url, headers={"Cookie": cookie_header(triple)}, transports=["websocket"],
                auth={"device": devices[0]}, wait_timeout=10)
    loop_thread = app.pid
    leave, cpu = [], {"triple": [], "plain": []}
    try:
        for number in range(rounds):
            for who, session in (("triple", triple), ("plain", plain)):
                before = thread_cpu(app.pid, loop_thread)
                sent = time.monotonic()
                response = post_form(session, url, "/workouts/new", "/workouts/new", {
                    "title": f"Round {number}", "activity": "run", "duration_minutes": "30",
                    "distance_km": "5", "performed_on": date.today().isoformat(),
                    "completed": "y"})
                assert response.status_code == 302
                if who == "triple":
                    def both(sent: float = sent) -> list[float] | None:
                        at = stats(push_origin)["at"]
                        times = [at.get(f"triple-{n}", 0) for n in ("phone", "tablet")]
                        return times if min(times) > sent else None
                    times = wait_until(both, 30, "the two pushes", interval=0.01)
                    leave.append(max(times) - sent)
                    assert stats(push_origin)["at"].get("triple-tab", 0) < sent
                cpu[who].append(thread_cpu(app.pid, loop_thread) - before)
    finally:
        tab.disconnect()
    return {"rounds": rounds,
            "push_after_post_p50_ms": round(statistics.median(leave) * 1000, 1),
            "push_after_post_max_ms": round(max(leave) * 1000, 1),
            "loop_cpu_per_post_ms_3_devices": round(statistics.mean(cpu["triple"]) * 1000, 2),
            "loop_cpu_per_post_ms_no_device": round(statistics.mean(cpu["plain"]) * 1000, 2)}


def stats_keys(push_origin: str) -> dict:
    return _SHARED_KEYS[push_origin]


_SHARED_KEYS: dict[str, dict] = {}


def crypto(count: int = 2000) -> dict:
    """Microseconds per message for each step of one push, in this process, one core."""
    import http_ece
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from py_vapid import Vapid
    from pywebpush import WebPusher

    from tests.pushservice import Receiver

    receiver = Receiver.new()
    subscription = {"endpoint": "https://push.example.test/x",
                    "keys": {"p256dh": receiver.p256dh,
                             "auth": __import__("base64").urlsafe_b64encode(
                                 receiver.auth).decode().rstrip("=")}}
    peer = receiver.private_key.public_key()
    payload = b"x" * 400
    vapid = Vapid(ec.generate_private_key(ec.SECP256R1()))
    claims = {"sub": "mailto:bench@example.com", "aud": "https://push.example.test",
              "exp": int(time.time()) + 3600}
    aes = AESGCM(secrets.token_bytes(16))

    def timed(step) -> float:
        started = time.perf_counter()
        for _ in range(count):
            step()
        return round((time.perf_counter() - started) / count * 1e6, 1)

    return {
        "ecdh_keypair_and_agreement_us": timed(
            lambda: ec.generate_private_key(ec.SECP256R1()).exchange(ec.ECDH(), peer)),
        "aes128gcm_400_bytes_us": timed(lambda: aes.encrypt(b"\0" * 12, payload, None)),
        "http_ece_encrypt_us": timed(lambda: http_ece.encrypt(
            payload, private_key=ec.generate_private_key(ec.SECP256R1()),
            dh=__import__("base64").urlsafe_b64decode(subscription["keys"]["p256dh"] + "="),
            auth_secret=receiver.auth, version="aes128gcm")),
        "vapid_es256_sign_us": timed(lambda: vapid.sign(dict(claims))),
        "pywebpush_encode_us": timed(lambda: WebPusher(subscription).encode(payload)),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    results: dict = {"crypto": crypto()}
    log(f"crypto: {results['crypto']}")
    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp:
        processes = Processes(Path(tmp))
        try:
            push_origin, keys, _ = processes.push_service()
            _SHARED_KEYS[push_origin] = keys
            database = f"sqlite:///{Path(tmp) / 'bench.db'}"
            url, app, probe = processes.app(database, push_origin)
            populate(database, args.users, push_origin, keys)
            log(f"{args.users} users with one device each; broadcasting")
            results["broadcast"] = broadcast(url, push_origin, app, probe, args.users)
            log(f"broadcast: {results['broadcast']}")
            results["completion"] = completion(url, push_origin, app, args.rounds)
            log(f"completion: {results['completion']}")
        finally:
            processes.stop()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
