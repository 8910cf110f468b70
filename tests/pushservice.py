"""A local push service for tests and bench: RFC 8030 on 127.0.0.1, checking what we send.

There is no real push service on these machines, so this one stands in, and
is strict where the real ones are: every request must carry a VAPID JWT
(RFC 8292: ES256 under the key in `k`, `aud` this service's origin, `exp` in
the future and at most 24 hours ahead, `sub` a mailto: or https: URL), a TTL
and an Urgency, and an aes128gcm body (RFC 8291) that decrypts with the
subscription's private key. Whatever fails a check is answered 400 and
recorded in `rejected`; the rest is decrypted and recorded in `received`.

Each subscription is a URL of its own (`/push/<token>`); a test can make a
token answer 404, 410, 429 (with Retry-After) or 5xx a number of times, or
hold its answers for a while (a slow push service).

Run alone (`python -m tests.pushservice --port N`) it serves until stopped,
for `bench/push.py`.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from deploy.processes import free_port


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Receiver:
    """What a browser keeps for one subscription: its private key and auth secret."""

    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @classmethod
    def new(cls) -> Receiver:
        return cls(ec.generate_private_key(ec.SECP256R1()), secrets.token_bytes(16))

    @property
    def p256dh(self) -> str:
        return b64url(self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))


@dataclass
class Received:
    token: str
    payload: dict[str, Any]
    ttl: int
    urgency: str
    vapid_key: str
    claims: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class PushService:
    """The service: start it, make subscriptions, read what arrived."""

    def __init__(self, port: int | None = None, accept_any: bool = False) -> None:
        """`accept_any`: every token decrypts with the shared key (the bench's devices)."""
        self.accept_any = accept_any
        self.port = port or free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.received: list[Received] = []
        self.rejected: list[tuple[str, str]] = []
        self.attempts: list[tuple[str, float, int]] = []  # (token, when, status answered)
        self._receivers: dict[str, Receiver] = {}
        self._answers: dict[str, deque[tuple[int, str | None]]] = {}
        self._delay: dict[str, float] = {}
        self._shared = Receiver.new()
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> PushService:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- subscriptions ---------------------------------------------------

    def subscription(self, shared: bool = False) -> dict[str, Any]:
        """A new subscription at this service, as `PushSubscription.toJSON()` gives it.

        `shared` reuses one key pair (the bench's 10,000 devices need no key each).
        """
        token = secrets.token_urlsafe(12)
        receiver = self._shared if shared else Receiver.new()
        with self._changed:
            self._receivers[token] = receiver
        return {"endpoint": f"{self.origin}/push/{token}",
                "keys": {"p256dh": receiver.p256dh, "auth": b64url(receiver.auth)}}

    @staticmethod
    def token_of(subscription: dict[str, Any] | str) -> str:
        endpoint = subscription if isinstance(subscription, str) else subscription["endpoint"]
        return endpoint.rsplit("/", 1)[1]

    def answer(self, subscription: dict[str, Any], *statuses: int,
               retry_after: str | None = None) -> None:
        """Answer the next requests for this subscription with these statuses, then 201."""
        with self._changed:
            queue = self._answers.setdefault(self.token_of(subscription), deque())
            queue.extend((status, retry_after) for status in statuses)

    def hold(self, subscription: dict[str, Any], seconds: float) -> None:
        """Answer this subscription only after `seconds`: a slow push service."""
        self._delay[self.token_of(subscription)] = seconds

    # -- reading ---------------------------------------------------------

    def for_(self, subscription: dict[str, Any]) -> list[Received]:
        token = self.token_of(subscription)
        with self._changed:
            return [r for r in self.received if r.token == token]

    def wait(self, condition, timeout: float = 15.0) -> Any:
        """Wait until `condition(self)` is truthy (checked whenever a request arrives)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = condition(self)
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"push service: condition not met in {timeout}s; received "
                        f"{len(self.received)}, rejected {self.rejected[-3:]}")
                self._changed.wait(left)

    def stats(self) -> dict[str, Any]:
        """Counts, and arrival times (CLOCK_MONOTONIC, comparable across processes) by token."""
        with self._changed:
            return {"received": len(self.received), "rejected": len(self.rejected),
                    "at": {r.token: r.at for r in self.received}}

    # -- the HTTP side ---------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                """`/stats`: counts and CLOCK_MONOTONIC times, for a bench in another process."""
                body = json.dumps(service.stats()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, extra = service._receive(self.path, dict(self.headers.items()), body)
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler

    def _receive(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        headers = {k.lower(): v for k, v in headers.items()}
        token = path.rsplit("/", 1)[-1]
        with self._changed:
            receiver = self._receivers.get(token) or (self._shared if self.accept_any else None)
            planned = self._answers.get(token)
            status, retry_after = planned.popleft() if planned else (201, None)
        delay = self._delay.get(token)
        if delay:
            time.sleep(delay)
        if receiver is None:
            status, retry_after = 404, None
        extra = {"Retry-After": retry_after} if retry_after else {}
        if status == 201:
            try:
                record = self._check(token, receiver, headers, body)
            except ValueError as exc:
                with self._changed:
                    self.rejected.append((token, str(exc)))
                    self.attempts.append((token, time.monotonic(), 400))
                    self._changed.notify_all()
                return 400, {}
            extra["Location"] = f"{self.origin}/message/{secrets.token_urlsafe(8)}"
        with self._changed:
            if status == 201:
                self.received.append(record)
            self.attempts.append((token, time.monotonic(), status))
            self._changed.notify_all()
        return status, extra

    def _check(self, token: str, receiver: Receiver, headers: dict[str, str],
               body: bytes) -> Received:
        vapid_key, claims = self._vapid(headers.get("authorization", ""))
        ttl = headers.get("ttl", "")
        if not ttl.isdigit():
            raise ValueError(f"TTL missing or not a number: {ttl!r}")
        urgency = headers.get("urgency", "")
        if urgency not in ("very-low", "low", "normal", "high"):
            raise ValueError(f"Urgency missing or unknown: {urgency!r}")
        if headers.get("content-encoding") != "aes128gcm":
            raise ValueError(f"Content-Encoding is {headers.get('content-encoding')!r}")
        if len(body) > 4096:
            raise ValueError(f"body of {len(body)} bytes exceeds 4096")
        try:
            plain = http_ece.decrypt(body, private_key=receiver.private_key,
                                     auth_secret=receiver.auth, version="aes128gcm")
            payload = json.loads(plain)
        except Exception as exc:  # noqa: BLE001 - any failure is the sender's fault
            raise ValueError(f"body does not decrypt to JSON: {exc!r}") from exc
        return Received(token, payload, int(ttl), urgency, vapid_key, claims)

    def _vapid(self, authorization: str) -> tuple[str, dict[str, Any]]:
        scheme, _, params = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError(f"Authorization is not vapid: {authorization[:40]!r}")
        parts = dict(part.strip().split("=", 1) for part in params.split(",") if "=" in part)
        token, key = parts.get("t", ""), parts.get("k", "")
        try:
            signed, signature = token.rsplit(".", 1)
            header = json.loads(unb64url(signed.split(".")[0]))
            claims = json.loads(unb64url(signed.split(".")[1]))
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(key))
            raw = unb64url(signature)
            der = encode_dss_signature(int.from_bytes(raw[:32], "big"),
                                       int.from_bytes(raw[32:], "big"))
            public.verify(der, signed.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        except (ValueError, IndexError, InvalidSignature) as exc:
            raise ValueError(f"VAPID JWT does not verify: {exc!r}") from exc
        if header.get("alg") != "ES256" or len(raw) != 64:
            raise ValueError(f"VAPID JWT is not ES256: {header}")
        if claims.get("aud") != self.origin:
            raise ValueError(f"VAPID aud {claims.get('aud')!r} is not {self.origin!r}")
        now = time.time()
        if not isinstance(claims.get("exp"), int) or not now < claims["exp"] <= now + 86400:
            raise ValueError(f"VAPID exp {claims.get('exp')!r} is not within 24 hours")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise ValueError(f"VAPID sub {claims.get('sub')!r} is not mailto: or https:")
        return key, claims


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    with PushService(args.port, accept_any=True) as service:
        # The keys every bench device shares, for the bench to store with its devices.
        shared = service.subscription(shared=True)["keys"]
        print(json.dumps(shared), flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
