"""Which workout files an upload holds, and each one's bytes, within caps.

An upload is one workout file (`.gpx`, `.tcx`, `.fit`, maybe gzipped) or a
zip of them: Strava's bulk export keeps them in `activities/`, often as
`.gpx.gz` or `.fit.gz`, beside CSV files and photos that are not workouts
and are passed over. Nothing is ever extracted to a path taken from the
archive; entries are read into a spooled buffer, and every read is capped by
what is actually decompressed, not by what the archive claims:

- at most MAX_ENTRIES entries in the zip, MAX_EXPANDED bytes declared in all;
- at most MAX_ENTRY_BYTES read from any one entry, MAX_EXPANDED in all;
- a name that is absolute or climbs out (`..`) is refused, by name.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath
from tempfile import SpooledTemporaryFile
from typing import IO

from fitness_app.services.imports.track import Refused

MAX_ENTRIES = 20_000
MAX_EXPANDED = 500 * 1024 * 1024
MAX_ENTRY_BYTES = 200 * 1024 * 1024
FORMATS = (".gpx", ".tcx", ".fit")
CHUNK = 1024 * 1024
SPOOL = 8 * 1024 * 1024  # entries below this stay in memory
GZIP = b"\x1f\x8b"


@dataclass(frozen=True)
class Entry:
    """One workout file of an upload: its name, format and, when refused, why."""

    name: str
    format: str
    refused: str | None = None


def workout_format(name: str) -> str | None:
    """`.gpx`, `.tcx` or `.fit` for a workout file's name (gzipped too), else None."""
    lowered = name.lower().removesuffix(".gz")
    return next((f for f in FORMATS if lowered.endswith(f)), None)


def leaves_archive(name: str) -> bool:
    """An absolute name, a drive, or a `..` step: it would land outside the archive."""
    unified = name.replace("\\", "/")
    return (unified.startswith("/") or (len(unified) > 1 and unified[1] == ":")
            or ".." in PurePosixPath(unified).parts)


def is_zip(stream: IO[bytes]) -> bool:
    stream.seek(0)
    head = stream.read(4)
    stream.seek(0)
    return head in (b"PK\x03\x04", b"PK\x05\x06")


def entries(stream: IO[bytes], filename: str) -> list[Entry]:
    """The workout files of an upload, in archive order; raises Refused for the whole."""
    if not is_zip(stream):
        kind = workout_format(filename) or _sniff(stream)
        if kind is None:
            raise Refused("It is not a workout file: send .gpx, .tcx, .fit or a .zip of them.")
        return [Entry(filename, kind)]
    try:
        with zipfile.ZipFile(stream) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError) as exc:
        raise Refused(f"It is not a readable zip ({exc}).") from exc
    if len(infos) > MAX_ENTRIES:
        raise Refused(f"The zip holds over {MAX_ENTRIES:,} entries; refused.")
    if sum(info.file_size for info in infos) > MAX_EXPANDED:
        raise Refused(f"The zip would expand to over {MAX_EXPANDED // 2**20} MB; refused.")
    found = []
    for info in infos:
        kind = workout_format(info.filename)
        if info.is_dir() or kind is None:
            continue
        refused = ("Its name leads outside the archive; refused."
                   if leaves_archive(info.filename) else None)
        found.append(Entry(info.filename, kind, refused))
    if not found:
        raise Refused("The zip holds no .gpx, .tcx or .fit file.")
    return found


def _sniff(stream: IO[bytes]) -> str | None:
    """A format from the first bytes, for a file whose name says nothing."""
    try:
        head = _opened(stream).read(512)
    except (gzip.BadGzipFile, EOFError, zlib.error, OSError):
        head = b""
    stream.seek(0)
    if head[8:12] == b".FIT":
        return ".fit"
    if b"<gpx" in head:
        return ".gpx"
    if b"<TrainingCenterDatabase" in head:
        return ".tcx"
    return None


def _opened(stream: IO[bytes]) -> IO[bytes]:
    stream.seek(0)
    magic = stream.read(2)
    stream.seek(0)
    return gzip.GzipFile(fileobj=stream) if magic == GZIP else stream


class Reader:
    """Reads entries of one upload, keeping the expanded-bytes budget across them."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.budget = MAX_EXPANDED
        self.archive = zipfile.ZipFile(stream) if is_zip(stream) else None

    def open(self, entry: Entry) -> tuple[IO[bytes], int]:
        """The entry's bytes, decompressed (gzip too), in a seekable buffer, and their size."""
        buffer: IO[bytes] = SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 - returned
        try:
            if self.archive:
                raw = self.archive.open(entry.name)
                source = gzip.GzipFile(fileobj=raw) if raw.peek(2)[:2] == GZIP else raw
            else:
                source = _opened(self.stream)
            size = self._copy(source, buffer)
        except Refused:
            buffer.close()
            raise
        except (zipfile.BadZipFile, zlib.error, gzip.BadGzipFile, EOFError, OSError,
                RuntimeError, NotImplementedError) as exc:
            # RuntimeError: an encrypted entry; NotImplementedError: an unknown compression.
            buffer.close()
            raise Refused(f"It could not be unpacked ({exc}).") from exc
        buffer.seek(0)
        return buffer, size

    def _copy(self, source: IO[bytes], buffer: IO[bytes]) -> int:
        limit = min(MAX_ENTRY_BYTES, self.budget)
        size = 0
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > limit:
                if limit == self.budget and limit < MAX_ENTRY_BYTES:
                    raise Refused(f"The upload expands past {MAX_EXPANDED // 2**20} MB; "
                                  "this file and the rest are refused.")
                raise Refused(f"It expands past {MAX_ENTRY_BYTES // 2**20} MB; refused.")
            buffer.write(chunk)
        self.budget -= size
        return size

    def close(self) -> None:
        if self.archive:
            self.archive.close()
