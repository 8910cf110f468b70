"""One streaming pass over an XML file through defusedxml: refuse what is hostile, count points.

defusedxml's iterparse refuses a DOCTYPE (and so every entity, internal or
external) before any of it is expanded, and reads the file in chunks, so a
huge or malicious file costs a pass over its bytes and no tree in memory:
elements are cleared as soon as they end. GPX goes through it before gpxpy
loads anything; the TCX reader is built on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from fitness_app.services.imports.track import MAX_POINTS, Progress, Refused

ENTITIES_REFUSED = "It declares a DOCTYPE or entities, which workout files never need; refused."


def local(tag: str) -> str:
    """`{http://www.topografix.com/GPX/1/1}trkpt` → `trkpt`."""
    return tag.rsplit("}", 1)[-1]


def elements(stream: IO[bytes], size: int, record: str, progress: Progress,
             share: float) -> Iterator[tuple[str, Element]]:
    """(event, element) for every start and end, refusing DTDs and malformed XML.

    An element named `record` (a track point) is detached from its parent once
    its end has been handled, so memory holds one point at a time, not the
    track. Reports progress by bytes read, as the first `share` of the file.
    """
    try:
        stack: list[Element] = []
        for count, (event, element) in enumerate(iterparse(
            stream, events=("start", "end"), forbid_dtd=True, forbid_entities=True,
            forbid_external=True,
        )):
            if event == "start":
                stack.append(element)
                yield event, element
                continue
            stack.pop()
            yield event, element
            if stack and local(element.tag) == record:
                stack[-1].remove(element)
            if count % 20_000 == 0 and size:
                progress.fraction(share * min(1.0, stream.tell() / size))
    except DefusedXmlException as exc:
        raise Refused(ENTITIES_REFUSED) from exc
    except ParseError as exc:
        raise Refused(f"It is not well-formed XML ({exc}).") from exc


def count_points(stream: IO[bytes], size: int, root: str, point: str,
                 progress: Progress, share: float) -> int:
    """Check the root element and count `point` elements, capped at MAX_POINTS."""
    points = 0
    seen_root = False
    for event, element in elements(stream, size, point, progress, share):
        if event == "start":
            if not seen_root:
                if local(element.tag) != root:
                    raise Refused(f"It is XML, but not a {root.upper()} file.")
                seen_root = True
            continue
        if local(element.tag) == point:
            points += 1
            if points > MAX_POINTS:
                raise Refused(f"Its track has over {MAX_POINTS:,} points; refused.")
    return points
