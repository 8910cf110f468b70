"""The soak's faults: each an `async` step of the `Environment` that returns the `Fault` it made.

A kill may wait for a minute on which reminders fall due (`minute_offset`),
and may first upload the import it is to cut (`cut_import`): see
bench/soak_features.py.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bench.soak_features import Features
from bench.soak_report import Fault

if TYPE_CHECKING:
    from bench.soak import Environment

# After a fault's return: time for the sockets to come back (the browser's
# back-off reaches 5 s ±50 %) before the next fault, and for POSTs to show
# recovery before the load ends.
HEAL_SECONDS = 8.0
# The import is uploaded this long before the kill that cuts it.
IMPORT_LEAD = 6.0
FaultStep = Callable[["Environment"], Awaitable[Fault]]


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the report."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def kill_worker(index: int, minute_offset: float | None = None,
                cut_import: bool = False) -> FaultStep:
    """`minute_offset`: kill that long after a minute on which reminders fall due
    (negative: before it); `cut_import`: upload the import to this worker first."""

    async def inject(env: Environment) -> Fault:
        if minute_offset is not None and env.features is not None:
            await _before_kill(env.features, index, minute_offset, cut_import)
        fault = Fault(f"kill -9 worker {index}", "worker", time.monotonic(), worker=index)
        log(fault.name)
        await asyncio.to_thread(env.cluster.kill_worker, index)
        await asyncio.to_thread(env.cluster.start_worker, index)  # waits for /healthz
        fault.returned = time.monotonic()
        log(f"worker {index} serves again")
        return fault

    return inject


async def _before_kill(features: Features, index: int, minute_offset: float,
                       cut_import: bool) -> None:
    lead = IMPORT_LEAD if cut_import and features.import_files else 0.0
    minute = features.next_minute(time.time() + lead + 1 - minute_offset)
    if minute is None:
        return
    kill_at = minute + minute_offset
    await asyncio.sleep(max(0.0, kill_at - lead - time.time()))
    if lead:
        run = await features.start_import(index)
        log(f"import {run.import_id} of {run.files} files reading on worker {index}")
    await asyncio.sleep(max(0.0, kill_at - time.time()))
    if lead:
        features.killing()


def stop_redis(seconds: float) -> FaultStep:
    async def inject(env: Environment) -> Fault:
        fault = Fault(f"Redis stopped {seconds:g} s", "redis", time.monotonic())
        log(fault.name)
        await asyncio.to_thread(env.redis.stop)
        await asyncio.sleep(seconds)
        await asyncio.to_thread(env.redis.start)
        fault.returned = time.monotonic()
        log("Redis answers again")
        return fault

    return inject


def stop_database(seconds: float) -> FaultStep:
    async def inject(env: Environment) -> Fault:
        fault = Fault(f"PostgreSQL stopped {seconds:g} s", "database", time.monotonic())
        log(fault.name)
        await asyncio.to_thread(env.database.stop)
        await asyncio.sleep(seconds)
        await asyncio.to_thread(env.database.start)
        fault.returned = time.monotonic()
        log("PostgreSQL answers again")
        return fault

    return inject
