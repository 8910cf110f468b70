"""Configuration read from the environment.

Every setting that differs between machines comes from an environment variable,
so the same code runs on a laptop (`make run`, SQLite, one process) and behind
nginx (PostgreSQL, Redis, several workers) without edits.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))


def _persistent_secret_key() -> str:
    """Return SECRET_KEY from the environment, or one generated once per instance.

    A generated key is kept in `instance/secret_key` so sessions survive a
    restart; it is never committed because `instance/` is ignored.
    """
    if key := os.environ.get("SECRET_KEY"):
        return key
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        # Written aside, then linked into place: of several workers starting at
        # once the first link wins, and none reads a file that is still empty.
        draft = path.with_name(f"secret_key.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants a driver.
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url[len("postgres://") :]
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{INSTANCE_DIR / 'fitness.db'}"


def _list(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


class Config:
    """Settings shared by every environment."""

    SECRET_KEY = _persistent_secret_key()
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None
    # eventlet by default (app.py monkey-patches for it); gevent and threading
    # are the alternatives. Set explicitly because auto-detection would pick
    # eventlet whenever it is installed.
    ASYNC_MODE = os.environ.get("ASYNC_MODE", "eventlet")
    # None means same-origin only; a comma-separated list allows those origins.
    CORS_ALLOWED_ORIGINS = _list(os.environ.get("CORS_ALLOWED_ORIGINS"))
    # The Redis pub/sub channel; deployments sharing one Redis need distinct ones.
    SOCKETIO_CHANNEL = os.environ.get("SOCKETIO_CHANNEL", "flask-socketio")
    SOCKETIO_MAX_HTTP_BUFFER_SIZE = 64 * 1024
    SOCKETIO_PING_INTERVAL = int(os.environ.get("SOCKETIO_PING_INTERVAL", "25"))
    SOCKETIO_PING_TIMEOUT = int(os.environ.get("SOCKETIO_PING_TIMEOUT", "20"))
    WORKOUTS_PER_PAGE = 20
    NOTIFICATIONS_PER_PAGE = 30
    REPLAY_LIMIT = 100
    # Client → server Socket.IO events, per connection (docs/interface.md): a
    # token bucket refilled at RATE per second holding up to BURST; refused
    # events count as strikes that drain at RATE, and a connection with this
    # many strikes is closed at the next refusal.
    SOCKET_EVENT_RATE = float(os.environ.get("SOCKET_EVENT_RATE", "10"))
    SOCKET_EVENT_BURST = int(os.environ.get("SOCKET_EVENT_BURST", "60"))
    SOCKET_FLOOD_DISCONNECT = int(os.environ.get("SOCKET_FLOOD_DISCONNECT", "100"))
    PRESENCE_INTERVAL_SECONDS = float(os.environ.get("PRESENCE_INTERVAL_SECONDS", "1"))
    # With Redis, a worker that dies without a goodbye leaves the online count
    # this many seconds later; keep it well above the heartbeat interval.
    PRESENCE_TTL_SECONDS = int(os.environ.get("PRESENCE_TTL_SECONDS", "30"))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE") == "1"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE


class DevelopmentConfig(Config):
    """`make run`: one process on SQLite unless DATABASE_URL says otherwise."""


class ProductionConfig(Config):
    """Behind nginx: cookies only over https unless told otherwise."""

    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") == "1"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE


class TestingConfig(Config):
    """pytest: threading mode, so tests never import eventlet."""

    TESTING = True
    ASYNC_MODE = "threading"
    SECRET_KEY = secrets.token_hex(32)
    REDIS_URL = None
    PRESENCE_INTERVAL_SECONDS = 0.1


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}
