"""Hostile and broken workout files: each is refused with a message, and nothing else happens.

The readers are called as the reader process calls them (`child.handle`), on
files written to disk. Hypothesis throws random bytes and damaged copies of
real files at them: the only failure a reader may raise is `Refused`, whose
message the import page shows for that file.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fitness_app.services.imports import archive, child
from fitness_app.services.imports.track import MAX_POINTS, Refused
from tests.imports_helpers import DATA, gpx, tcx, zipped

HOSTILE = settings(max_examples=150, deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture])


def read_upload(path: Path, filename: str) -> list[dict | str]:
    """Every entry's answer, as the reader process gives them: parsed, or the refusal."""
    uploads = child.Uploads()
    try:
        listing = child.handle({"op": "list", "path": str(path), "filename": filename}, uploads)
        answers: list[dict | str] = []
        for entry in listing["entries"]:
            if entry["refused"]:
                answers.append(entry["refused"])
                continue
            try:
                answers.append(child.handle(
                    {"op": "read", "path": str(path), "filename": filename,
                     "entry": entry["name"], "format": entry["format"]}, uploads)["parsed"])
            except Refused as exc:
                answers.append(str(exc))
        return answers
    finally:
        uploads.close()


def refusal(tmp_path: Path, content: bytes, filename: str) -> str:
    path = tmp_path / "upload"
    path.write_bytes(content)
    try:
        [answer] = read_upload(path, filename)
    except Refused as exc:
        return str(exc)
    assert isinstance(answer, str), f"{filename} was read: {answer}"
    return answer


@pytest.mark.parametrize(("content", "words"), [
    # Billion laughs: entities expanding to gigabytes.
    (b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaaaaaaaa">'
     b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
     b'<gpx><trk><name>&c;</name></trk></gpx>', "DOCTYPE"),
    # An external entity that would read a local file.
    (b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     b'<gpx><trk><name>&x;</name></trk></gpx>', "DOCTYPE"),
    # An external DTD, fetched by a careless parser.
    (b'<?xml version="1.0"?><!DOCTYPE gpx SYSTEM "http://127.0.0.1:9/evil.dtd"><gpx/>',
     "DOCTYPE"),
    (b"<gpx><trk><trkseg><trkpt lat='1' lon='2'>", "well-formed"),
    (b"<kml><Document/></kml>", "not a GPX file"),
    (gpx(50).replace(b"<time>", b"<when>").replace(b"</time>", b"</when>"), "no times"),
    (b'<gpx version="1.1"><rte><rtept lat="1" lon="2"/></rte></gpx>', "no track points"),
])
def test_hostile_or_broken_gpx_is_refused(tmp_path, content, words):
    assert words in refusal(tmp_path, content, "file.gpx")


def test_tcx_entities_and_courses_are_refused(tmp_path):
    bomb = tcx(5).replace(b"<TrainingCenterDatabase",
                          b'<!DOCTYPE t [<!ENTITY a "b">]><TrainingCenterDatabase', 1)
    assert "DOCTYPE" in refusal(tmp_path, bomb, "a.tcx")
    course = (b'<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/'
              b'TrainingCenterDatabase/v2"><Courses/></TrainingCenterDatabase>')
    assert "no activity" in refusal(tmp_path, course, "c.tcx")


def test_fit_with_a_bad_header_or_checksum_is_refused(tmp_path):
    assert "checksum" in refusal(tmp_path, (DATA / "invalid-filecrc.fit").read_bytes(), "a.fit")
    assert "header" in refusal(tmp_path, (DATA / "invalid-corruptheader.fit").read_bytes(),
                               "b.fit")
    good = (DATA / "garmin-fenix-5-run.fit").read_bytes()
    assert "cut short" in refusal(tmp_path, good[:-100], "c.fit")


def test_a_track_over_a_million_points_is_refused(tmp_path):
    point = b'<trkpt lat="1" lon="2"><time>2024-01-01T00:00:00Z</time></trkpt>'
    content = b"<gpx><trk><trkseg>" + point * (MAX_POINTS + 1) + b"</trkseg></trk></gpx>"
    # Gzipped inside a zip, as exports come: 62 MB of XML in a few hundred KB.
    archive_bytes = zipped({"activities/huge.gpx.gz": gzip.compress(content, 1)})
    assert len(archive_bytes) < 2 * 2**20
    assert "over 1,000,000 points" in refusal(tmp_path, archive_bytes, "export.zip")


def test_zip_names_that_leave_the_archive_are_refused_each(tmp_path):
    path = tmp_path / "slip.zip"
    path.write_bytes(zipped({"../../evil.gpx": gpx(10), "/etc/cron.d/x.gpx": gpx(10),
                             "C:\\Windows\\a.gpx": gpx(10), "activities/fine.gpx": gpx(10)}))
    answers = read_upload(path, "slip.zip")
    assert [isinstance(a, str) and "outside the archive" in a for a in answers] == [
        True, True, True, False]
    assert not list(tmp_path.glob("**/evil.gpx"))  # nothing is ever extracted by name


def _zeros_zip(entries: dict[str, int]) -> bytes:
    """A zip whose entries are `size` bytes of zeros each: megabytes that compress to kilobytes."""
    buffer = io.BytesIO()
    block = b"\0" * 2**20
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as made:
        for name, size in entries.items():
            with made.open(name, "w", force_zip64=True) as entry:
                for _ in range(size // len(block)):
                    entry.write(block)
    return buffer.getvalue()


def test_a_zip_declaring_over_500_mb_is_refused_whole(tmp_path):
    bomb = _zeros_zip({f"activities/{i}.gpx": 130 * 2**20 for i in range(4)})
    assert len(bomb) < 2 * 2**20
    assert "expand to over 500 MB" in refusal(tmp_path, bomb, "bomb.zip")


def test_a_gzip_inside_that_expands_too_far_is_refused(tmp_path):
    inner = gzip.compress(b"\0" * (archive.MAX_ENTRY_BYTES + 2**20), 1)
    assert "expands past 200 MB" in refusal(tmp_path, zipped({"a/run.gpx.gz": inner}), "e.zip")


def test_a_zip_with_too_many_entries_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as made:
        for i in range(archive.MAX_ENTRIES + 1):
            made.writestr(f"n/{i}.txt", b"")
    assert "over 20,000 entries" in refusal(tmp_path, buffer.getvalue(), "many.zip")


@HOSTILE
@given(content=st.binary(max_size=4096), name=st.sampled_from(
    ["a.gpx", "a.tcx", "a.fit", "a.zip", "a.gpx.gz", "unknown"]))
def test_random_bytes_are_refused_never_crash(tmp_path, content, name):
    path = tmp_path / "random"
    path.write_bytes(content)
    try:
        answers = read_upload(path, name)
    except Refused:
        return
    for answer in answers:
        assert isinstance(answer, str | dict)


REAL = [(name, (DATA / name).read_bytes()) for name in (
    "garmin-fenix-5-run.fit", "cerknicko-jezero.gpx", "sup_activity_1.tcx")]


@HOSTILE
@given(sample=st.sampled_from(REAL), cuts=st.lists(
    st.tuples(st.integers(0, 2**16), st.binary(min_size=0, max_size=8)), min_size=1, max_size=4))
def test_damaged_real_files_are_read_or_refused_never_crash(tmp_path, sample, cuts):
    name, content = sample
    damaged = bytearray(content)
    for offset, replacement in cuts:
        at = offset % max(len(damaged), 1)
        damaged[at:at + len(replacement)] = replacement
    path = tmp_path / "damaged"
    path.write_bytes(bytes(damaged))
    try:
        answers = read_upload(path, name)
    except Refused:
        return
    for answer in answers:
        assert isinstance(answer, str | dict)
