"""The VAPID key pair that signs every push, and the subject push services may write to.

`VAPID_PRIVATE_KEY` (PEM, or base64url of the raw 32-byte key) wins; without
it the first process that needs a key makes one into `instance/` and every
later start (and every worker on the machine) reads the same file, as
`config.instance_secret_key` does for the secret key. Called from create_app,
never at import.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask, current_app
from py_vapid import Vapid

from config import instance_file

_EXTENSION = "fitness_push_keys"
KEY_FILE = "vapid_private_key.pem"
_B64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


@dataclass(frozen=True)
class VapidKeys:
    vapid: Vapid
    # What browsers pass to pushManager.subscribe: base64url of the uncompressed point.
    public_key: str
    subject: str


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = load(
        app.config.get("VAPID_PRIVATE_KEY"), app.config["VAPID_SUBJECT"], Path(app.instance_path)
    )


def current() -> VapidKeys:
    return of_app(current_app)


def of_app(app: Flask) -> VapidKeys:
    return app.extensions[_EXTENSION]


def load(private_key: str | None, subject: str, instance_dir: Path) -> VapidKeys:
    """The configured key, or the one kept in `instance_dir` (made there the first time)."""
    if not subject.startswith(("mailto:", "https:")):
        raise RuntimeError(f"VAPID_SUBJECT must be a mailto: or https: URL, not {subject!r}")
    if private_key:
        vapid = parse(private_key)
    else:
        vapid = parse(instance_file(instance_dir, KEY_FILE, _new_pem).decode())
    point = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return VapidKeys(vapid, b64url(point), subject)


def parse(private_key: str) -> Vapid:
    """A key given as PEM text or as base64url of the raw scalar; ValueError otherwise."""
    text = private_key.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
                raise ValueError("not a P-256 key")
            return Vapid(key)
        return Vapid.from_string(text)
    except Exception as exc:  # noqa: BLE001 - every parse failure says the same thing
        raise ValueError(
            "VAPID_PRIVATE_KEY must be a P-256 private key, as PEM or base64url of the raw key"
        ) from exc


def _new_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """base64url with or without padding; ValueError for anything else."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("not base64url") from exc
