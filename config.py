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


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


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
    PRESENCE_INTERVAL_SECONDS = float(os.environ.get("PRESENCE_INTERVAL_SECONDS", "1"))
    # With Redis, a worker that dies without a goodbye leaves the online count
    # this many seconds later; keep it well above the heartbeat interval.
    PRESENCE_TTL_SECONDS = int(os.environ.get("PRESENCE_TTL_SECONDS", "30"))
    # Flask-Limiter: counts in Redis when REDIS_URL is set (fitness_app/limits.py),
    # a moving window so "5 in 15 minutes" means any 15 minutes.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or None
    RATELIMIT_STRATEGY = "moving-window"
    # Redis down: count in this process rather than fail or stop limiting.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_LOGIN_EMAIL = os.environ.get("RATELIMIT_LOGIN_EMAIL", "5 per 15 minutes")
    RATELIMIT_LOGIN_ADDRESS = os.environ.get("RATELIMIT_LOGIN_ADDRESS", "50 per 15 minutes")
    # Generous: many people may sign up from behind one shared address.
    RATELIMIT_REGISTER = os.environ.get("RATELIMIT_REGISTER", "300 per hour")
    RATELIMIT_RESET = os.environ.get("RATELIMIT_RESET", "30 per hour")
    # Reset links asked for one address, from anywhere: nobody's inbox gets flooded.
    RATELIMIT_RESET_EMAIL = os.environ.get("RATELIMIT_RESET_EMAIL", "5 per hour")
    # How many proxies in front of the app set X-Forwarded-For/-Proto: 0 for
    # `make run` (trust no header), 1 behind deploy/'s nginx.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # Our largest form is a 500-character announcement; nothing needs more.
    MAX_CONTENT_LENGTH = 64 * 1024
    # Mail through SMTP at MAIL_SERVER:MAIL_PORT; without MAIL_SERVER each
    # message, link included, is written to the server's output instead.
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_USE_TLS = _flag("MAIL_USE_TLS")
    MAIL_USE_SSL = _flag("MAIL_USE_SSL")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "fitness_app <no-reply@localhost>")
    # A mail server that stops answering costs the sender task this long, no request.
    MAIL_TIMEOUT = int(os.environ.get("MAIL_TIMEOUT", "10"))
    # The Host names the app answers to; reset links are built from the Host
    # header, so production should list its names here (comma-separated).
    TRUSTED_HOSTS = _list(os.environ.get("TRUSTED_HOSTS"))
    PASSWORD_RESET_MAX_AGE = 3600
    # scrypt hashes running at once (in the server's thread pool). Each takes a
    # core for about 130 ms; one core is left to the event loop.
    PASSWORD_HASH_CONCURRENCY = int(
        os.environ.get("PASSWORD_HASH_CONCURRENCY", max(1, (os.cpu_count() or 2) - 1))
    )
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
    MAIL_SERVER = None
    MAIL_IDLE_SECONDS = 1.0


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}
