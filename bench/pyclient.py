"""python-socketio's asyncio client doing what client.js does in `run.py --phases clients`.

It exists to answer one question: which load client leaves more of the 2 cores
to the server. It connects N WebSocket clients to the bare server, times
`rounds` broadcasts until the last client has each, and prints its own CPU
seconds for both parts as JSON.

Usage: pyclient.py URL N ROUNDS CONCURRENCY
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import socketio


async def main(url: str, n: int, rounds: int, concurrency: int) -> dict[str, Any]:
    if urlsplit(url).hostname != "127.0.0.1":
        raise SystemExit("refusing to send traffic beyond 127.0.0.1")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    current: dict[str, Any] = {"message": None, "arrivals": [], "start": 0.0}
    done = asyncio.Event()
    clients: list[socketio.AsyncClient] = []
    gate = asyncio.Semaphore(concurrency)
    # limit=0: each WebSocket holds a pooled connection, and the default pool holds 100.
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    def make_handler(seen: dict[str, bool]):
        async def on_notification(payload: dict[str, Any]) -> None:
            if payload.get("message") == current["message"] and not seen.get(payload["message"]):
                seen[payload["message"]] = True
                current["arrivals"].append(time.perf_counter() - current["start"])
                if len(current["arrivals"]) >= len(clients):
                    done.set()

        return on_notification

    async def connect(user: int) -> None:
        client = socketio.AsyncClient(reconnection=False, http_session=http)
        client.on("notification", make_handler({}))
        async with gate:
            await client.connect(url, transports=["websocket"], auth={"user": user},
                                 wait_timeout=20)
        clients.append(client)

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(connect(i + 1) for i in range(n)), return_exceptions=True)
    cpu1, t1 = time.process_time(), time.perf_counter()
    lasts: list[float | None] = []
    async with aiohttp.ClientSession() as poster:
        for r in range(rounds):
            done.clear()
            current.update(message=f"py broadcast {r} {time.time()}", arrivals=[],
                           start=time.perf_counter())
            async with poster.post(f"{url}/broadcast", data={"message": current["message"]}):
                pass
            try:
                await asyncio.wait_for(done.wait(), timeout=30)
                lasts.append(1000 * max(current["arrivals"]))
            except TimeoutError:
                lasts.append(None)
            await asyncio.sleep(1)
    cpu2 = time.process_time()
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)
    await http.close()
    return {
        "connected": len(clients),
        "connectSeconds": t1 - t0,
        "connectCpuSeconds": cpu1 - cpu0,
        "broadcastCpuSeconds": cpu2 - cpu1,
        "lastMs": lasts,
    }


if __name__ == "__main__":
    url, n, rounds, concurrency = sys.argv[1], *map(int, sys.argv[2:5])
    print(json.dumps(asyncio.run(asyncio.wait_for(main(url, n, rounds, concurrency), 600))))
