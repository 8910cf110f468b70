"""FIT (Garmin, Wahoo, Coros…) through fitdecode, strictly.

fitdecode's defaults only warn on a bad CRC and on malformed data and carry
on; here both raise, so a damaged or forged file is refused with a message
instead of being half read. Frames are decoded one at a time from the stream;
only the positions and altitudes of the record messages are kept.
"""

from __future__ import annotations

import struct
from datetime import datetime
from typing import IO, Any

import fitdecode

from fitness_app.services.imports.track import (
    MAX_POINTS,
    Parsed,
    Point,
    Progress,
    Refused,
    activity_from,
    elevation_gain,
    encoded_route,
    track_length_m,
    utc,
    valid_point,
)

SEMICIRCLE = 180 / 2**31  # degrees per FIT position unit


def _value(frame: fitdecode.FitDataMessage, name: str) -> Any:
    return frame.get_value(name, fallback=None)


def _degrees(value: Any) -> float | None:
    return value * SEMICIRCLE if isinstance(value, int) else None


def read(stream: IO[bytes], size: int, progress: Progress) -> Parsed:
    session: dict[str, Any] = {}
    points: list[Point] = []
    elevations: list[float | None] = []
    first_time: datetime | None = None
    kind = None
    records = 0
    try:
        with fitdecode.FitReader(stream, check_crc=fitdecode.CrcCheck.RAISE,
                                 error_handling=fitdecode.ErrorHandling.RAISE) as fit:
            for frame in fit:
                if frame.frame_type != fitdecode.FIT_FRAME_DATA:
                    continue
                if frame.name == "file_id" and kind is None:
                    kind = _value(frame, "type")
                elif frame.name == "session" and not session:
                    session = {name: _value(frame, name) for name in (
                        "sport", "sub_sport", "start_time", "total_timer_time",
                        "total_elapsed_time", "total_distance", "total_ascent")}
                elif frame.name == "record":
                    records += 1
                    if records > MAX_POINTS:
                        raise Refused(f"Its track has over {MAX_POINTS:,} points; refused.")
                    if first_time is None and isinstance(_value(frame, "timestamp"), datetime):
                        first_time = _value(frame, "timestamp")
                    lat = _degrees(_value(frame, "position_lat"))
                    lon = _degrees(_value(frame, "position_long"))
                    if valid_point(lat, lon):
                        points.append((lat, lon))
                    altitude = _value(frame, "enhanced_altitude")
                    elevations.append(altitude if altitude is not None
                                      else _value(frame, "altitude"))
                    if records % 5_000 == 0 and size:
                        progress.fraction(0.95 * min(1.0, stream.tell() / size))
    except fitdecode.FitHeaderError as exc:
        raise Refused(f"Its FIT header is not valid ({exc}).") from exc
    except fitdecode.FitCRCError as exc:
        raise Refused("Its FIT checksum does not match: the file is damaged.") from exc
    except fitdecode.FitEOFError as exc:
        raise Refused("It ends in the middle of a FIT message: the file is cut short.") from exc
    except (fitdecode.FitError, ValueError, TypeError, struct.error, LookupError,
            ArithmeticError, EOFError, AssertionError) as exc:
        # fitdecode lets the standard library's errors, and its own asserts, through
        # on damaged data (struct.error on a header cut short, an AssertionError on
        # a bad record header: found by tests/test_imports_hostile.py).
        raise Refused(f"fitdecode could not read it ({exc.__class__.__name__}: {exc}).") from exc
    if kind not in (None, "activity"):
        raise Refused(f"It is a FIT {kind} file, not an activity.")
    started_at = session.get("start_time") or first_time
    if not isinstance(started_at, datetime):
        raise Refused("It has no times, so when it happened is unknown.")
    duration = session.get("total_timer_time") or session.get("total_elapsed_time") or 0.0
    distance = session.get("total_distance") or track_length_m(points)
    ascent = session.get("total_ascent")
    return Parsed(
        started_at=utc(started_at),
        activity=activity_from(*(str(session.get(key) or "") for key in ("sport", "sub_sport"))),
        duration_seconds=float(duration),
        distance_m=float(distance) if distance else None,
        elevation_gain_m=float(ascent) if ascent is not None else elevation_gain(elevations),
        route=encoded_route(points),
        points=len(points),
        name=None,
    )
