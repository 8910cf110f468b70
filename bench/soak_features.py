"""The soak's newer traffic: Web Push devices, reminders due at a worker kill, an import cut by one.

- **Push devices.** Every DEVICE_EVERY-th person subscribes one device at the
  local push service (tests/pushservice.py, run in this process: it checks
  each push's VAPID JWT and decrypts its aes128gcm body) through
  `POST /push/subscriptions`, as a browser does. No socket names that device
  (`auth.device`), so every group of notifications stored for them that is
  not silent must reach the device as one push. Every FLAKY_EVERY-th device's
  push service answers 503 (`Retry-After: 1`) to one push in every
  HICCUP_SECONDS, so retries are under way through the faults too.
- **Reminders.** Before the load, REMINDERS_PER_MINUTE people plan a workout
  (the form, with a `time`) for every wall-clock minute of the run: each
  reminder falls due on a minute. The worker kills wait for such a minute
  (`next_minute`), so a scheduler turn is cut by the kill, or the rows fall
  due with one worker dead.
- **An import.** A person of the worker about to be killed uploads a zip of
  many workout files to it; the kill lands while the files are read, and the
  import must be resumed (or marked failed) by a worker that lives.

soak_checks.py judges what these streams left, beside soak_report's invariants.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

from bench.soak_load import Load, Person
from tests.imports_helpers import gpx
from tests.pushservice import PushService

DEVICE_EVERY = 5
FLAKY_EVERY = 4
HICCUP_SECONDS = 5.0
REMINDERS_PER_MINUTE = 4
# The users' reminder lead (`reminder_minutes`, default 30): a workout starting at
# T + 30 min has its reminder due at T.
LEAD = timedelta(minutes=30)
DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
IMPORT_ID = re.compile(r"/workouts/imports/(\d+)")


@dataclass
class Device:
    person: Person
    subscription: dict[str, Any]
    status: int | None = None
    device_id: str = ""


@dataclass
class Reminder:
    person: Person
    title: str
    due_at: datetime  # UTC, on a minute
    status: int | None = None


@dataclass
class ImportRun:
    """The upload cut by a kill, and what its socket heard."""

    person: Person
    files: int
    status: int | None = None
    import_id: int | None = None
    uploaded_at: float = 0.0
    progress: list[tuple[float, int, int]] = field(default_factory=list)  # (when, done, total)
    at_kill: tuple[int, int] | None = None  # (done, total) last heard before the kill
    killed_at: float = 0.0


class Features:
    """The push service, the devices, the planned reminders and the import of one run."""

    def __init__(self, load: Load, push: PushService | None, reminders: bool,
                 import_files: int) -> None:
        self.load = load
        self.push = push
        self.devices: list[Device] = []
        self.reminders: list[Reminder] = []
        self.minutes: list[datetime] = []
        self.plan_reminders = reminders
        self.import_files = import_files
        self.imported: ImportRun | None = None
        self.hiccups: dict[str, int] = {}  # endpoint → 503s asked of the push service
        if push is not None:
            load.streams.append(self.push_service_hiccups)

    # --- before the load --------------------------------------------------------------

    async def prepare(self, run_seconds: float) -> None:
        if self.push is not None:
            await asyncio.gather(*(self._subscribe(p) for p in self.load.people
                                   if p.index % DEVICE_EVERY == 1))
        if self.plan_reminders:
            await self._plan(run_seconds)

    @property
    def flaky(self) -> list[Device]:
        return self.devices[::FLAKY_EVERY]

    async def push_service_hiccups(self) -> None:
        """A 503 for the next push of each flaky device, every HICCUP_SECONDS, once
        the one before was answered (503s in a row would stretch the back-off)."""
        while time.monotonic() < self.load.deadline:
            answered = Counter(token for token, _, status in list(self.push.attempts)
                               if status == 503)
            for device in self.flaky:
                endpoint = device.subscription["endpoint"]
                if answered[self.push.token_of(endpoint)] >= self.hiccups.get(endpoint, 0):
                    self.push.answer(device.subscription, 503, retry_after="1")
                    self.hiccups[endpoint] = self.hiccups.get(endpoint, 0) + 1
            await asyncio.sleep(HICCUP_SECONDS)

    async def _subscribe(self, person: Person) -> None:
        device = Device(person, self.push.subscription())
        self.devices.append(device)
        async with person.http.post(
            f"{self.load.urls[person.home]}/push/subscriptions", json=device.subscription,
            headers={"X-CSRFToken": person.csrf},
        ) as answer:
            device.status = answer.status
            if answer.status == 201:
                device.device_id = (await answer.json())["id"]
        if device.status != 201:
            raise RuntimeError(f"subscribing a device of {person.email}: {device.status}")

    async def _plan(self, run_seconds: float) -> None:
        """Reminders due on every minute from half a minute ahead to past the load's end
        (faults wait for minutes, and the load stretches while they heal)."""
        now = datetime.now(UTC)
        first = (now + timedelta(seconds=90)).replace(second=0, microsecond=0)
        count = int(run_seconds // 60) + 5
        self.minutes = [first + timedelta(minutes=n) for n in range(count)]
        people = [p for p in self.load.people if p.index % DEVICE_EVERY in (1, 2)]
        jobs = []
        for n, minute in enumerate(self.minutes):
            for k in range(REMINDERS_PER_MINUTE):
                person = people[(n * REMINDERS_PER_MINUTE + k) % len(people)]
                reminder = Reminder(person, f"reminder-{minute:%H%M}-{k}", minute)
                self.reminders.append(reminder)
                jobs.append(self._plan_one(reminder))
        await asyncio.gather(*jobs)
        refused = [r.title for r in self.reminders if r.status not in (302, 303)]
        if refused:
            raise RuntimeError(f"planning reminders refused: {refused[:5]}")

    async def _plan_one(self, reminder: Reminder) -> None:
        person = reminder.person
        start = reminder.due_at + LEAD
        data = {"csrf_token": person.csrf, "title": reminder.title, "activity": "run",
                "duration_minutes": "30", "performed_on": start.date().isoformat(),
                "time": f"{start:%H:%M}"}
        async with person.http.post(f"{self.load.urls[person.home]}/workouts/new", data=data,
                                    allow_redirects=False) as answer:
            reminder.status = answer.status
            await answer.read()

    def next_minute(self, after: float) -> float | None:
        """The first minute with reminders due at or after the wall-clock time `after`."""
        return next((m.timestamp() for m in self.minutes if m.timestamp() >= after), None)

    # --- the import cut by a kill ---------------------------------------------------

    async def start_import(self, worker: int) -> ImportRun:
        """Upload the zip to `worker` as one of its people; return once a file is read."""
        person = next(p for p in self.load.people
                      if p.home == worker and p.index % DEVICE_EVERY == 3)
        body, files = await asyncio.to_thread(import_zip, self.import_files)
        run = self.imported = ImportRun(person, files)

        async def on_progress(payload: dict[str, Any]) -> None:
            if payload.get("import_id") == run.import_id or run.import_id is None:
                run.progress.append((time.monotonic(), payload["done"], payload["total"]))

        person.sio.on("import_progress", on_progress)
        form = aiohttp.FormData()
        form.add_field("csrf_token", person.csrf)
        form.add_field("file", body, filename="export.zip", content_type="application/zip")
        run.uploaded_at = time.monotonic()
        async with person.http.post(f"{self.load.urls[worker]}/workouts/import", data=form,
                                    allow_redirects=False) as answer:
            run.status = answer.status
            match = IMPORT_ID.search(answer.headers.get("Location", ""))
            await answer.read()
        if run.status != 303 or match is None:
            raise RuntimeError(f"the import's upload answered {run.status}")
        run.import_id = int(match.group(1))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(done for _, done, _ in run.progress):
            await asyncio.sleep(0.05)
        return run

    def killing(self) -> None:
        """Note what the import's socket last heard, as the kill is sent."""
        run = self.imported
        if run is not None and not run.killed_at:
            run.killed_at = time.monotonic()
            run.at_kill = run.progress[-1][1:] if run.progress else None

    async def wait_import(self, url: str, timeout: float) -> float:
        """Wait until the import is no longer queued or running; return the wait."""
        began = time.monotonic()
        if self.imported is None:
            return 0.0
        while time.monotonic() - began < timeout:
            status = await asyncio.to_thread(import_status, url, self.imported.import_id)
            if status not in ("queued", "running"):
                break
            await asyncio.sleep(1)
        return time.monotonic() - began

    # --- after the load ---------------------------------------------------------------

    async def settle_pushes(self, expected: dict[str, dict[str, Any]], timeout: float) -> float:
        """Wait until each device holds a push of every group expected for it."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if all(groups.keys() <= set(pushed_groups(self.push, endpoint))
                   for endpoint, groups in expected.items()):
                break
            await asyncio.sleep(0.2)
        return time.monotonic() - began


def pushed_groups(push: PushService, endpoint: str) -> list[str]:
    """The `group` of every push that reached this device, once per push."""
    return [str(r.payload.get("group")) for r in push.for_(endpoint)]


def import_status(url: str, import_id: int) -> str | None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(sa.text("SELECT status FROM imports WHERE id = :i"),
                               {"i": import_id})
    except sa.exc.OperationalError:
        return "running"  # the database is away: ask again
    finally:
        engine.dispose()


def import_zip(generated: int) -> tuple[bytes, int]:
    """tests/data's samples (two of them refused) and `generated` GPX tracks a day apart.

    Returns the zip and how many files it holds.
    """
    files: dict[str, bytes] = {}
    for sample in sorted(DATA.iterdir()):
        if sample.suffix in (".gpx", ".tcx", ".fit"):
            files[f"samples/{sample.name}"] = sample.read_bytes()
    start = datetime(2023, 1, 1, 7, 0, tzinfo=UTC)
    for n in range(generated):
        files[f"activities/{n:04d}.gpx"] = gpx(1200, start + timedelta(days=n),
                                                name=f"imported-{n:04d}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue(), len(files)
