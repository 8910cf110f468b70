"""Tests that drive a real service run, fail under CI, or skip loudly.

Every test that needs PostgreSQL, the shared Redis, a redis-server binary,
nginx or Chromium calls `require`. Under CI (the CI variable set, as .ci/run
sets it) a missing service fails the test: CI must run them all. Elsewhere the
test skips, and the end of the run lists each missing service in a banner, so
a PostgreSQL-only test never vanishes without a word.
"""

from __future__ import annotations

import os
import shutil

import pytest
import redis

from deploy.processes import postgres_bin

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

# service -> why it is missing, for the banner at the end of the run.
MISSING: dict[str, str] = {}


def require(service: str, reason: str | None, module_level: bool = False) -> None:
    """Fail (under CI) or skip (elsewhere) when `reason` says `service` is missing.

    `module_level` skips a whole module from its top, as a browser test module does.
    """
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the tests that need {service}: {reason}", pytrace=False)
    MISSING.setdefault(service, reason)
    pytest.skip(f"{service} missing: {reason}", allow_module_level=module_level)


def shared_redis_reason() -> str | None:
    """Why the machine's shared Redis (TEST_REDIS_URL) cannot be used, or None."""
    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1).ping()
    except (redis.RedisError, OSError) as exc:
        return f"no Redis at {TEST_REDIS_URL}: {exc.__class__.__name__}"
    return None


def redis_server_reason() -> str | None:
    """Why no private redis-server can be started here, or None."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        return "no redis-server/redis-cli binary (Debian: apt-get install redis-server)"
    return None


def postgres_server_reason() -> str | None:
    """Why no private PostgreSQL server can be started here, or None."""
    if postgres_bin() is None:
        return "no PostgreSQL server binaries (initdb; Debian: apt-get install postgresql)"
    return None


def banner() -> list[str]:
    """The lines the end of the run shows when service-backed tests did not run."""
    if not MISSING:
        return []
    lines = ["SERVICE-BACKED TESTS DID NOT RUN (they fail under CI; set up these services):"]
    lines += [f"  {service}: {reason}" for service, reason in sorted(MISSING.items())]
    return lines
