"""The upload of `/workouts/import`, streamed to a file in chunks, yielding between them.

Two defaults stand in the way of a 50 MB upload on a shared loop: the app
refuses bodies over 64 KB (MAX_CONTENT_LENGTH), and Flask-WTF's CSRF check
reads `request.form`, which parses the whole multipart body in one go
(FIELD-NOTES: about 190 ms of loop time for 42 MB). So this one route is
exempt from the automatic check, raises its own limit to MAX_UPLOAD, and
parses the body here with Werkzeug's sans-IO `MultipartDecoder`, 64 KB at a
time, writing the file part straight to disk and yielding to the loop after
every chunk. The CSRF token (a form field or the `X-CSRFToken` header) is
checked once the body is read, with Flask-WTF's own `validate_csrf`; a
request that fails it leaves nothing behind.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import Request, abort, current_app
from flask_wtf.csrf import validate_csrf
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData
from wtforms.validators import ValidationError

from fitness_app.extensions import socketio

MAX_UPLOAD = 50 * 1024 * 1024
#: Room for the other parts of the form (the token, the part headers).
FORM_SLACK = 64 * 1024
CHUNK = 64 * 1024
FILE_FIELD = "file"


class NoFile(Exception):
    """The form came without a file; the page says so next to the field."""


@dataclass(frozen=True)
class Upload:
    path: str
    filename: str
    size: int


def directory() -> Path:
    """Where uploads wait to be read: IMPORT_DIR, else `instance/imports`."""
    path = Path(current_app.config.get("IMPORT_DIR") or Path(current_app.instance_path, "imports"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def receive(request: Request) -> Upload:
    """Stream the form's file to disk, check the CSRF token, return where it is."""
    request.max_content_length = MAX_UPLOAD + FORM_SLACK
    boundary = request.mimetype_params.get("boundary", "").encode("latin-1", "replace")
    if request.mimetype != "multipart/form-data" or not boundary:
        raise NoFile
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept as the upload, or removed
        dir=directory(), suffix=".upload", delete=False
    )
    try:
        fields, filename, size = _parse(request, boundary, handle)
        handle.close()
        _check_token(fields.get("csrf_token") or request.headers.get("X-CSRFToken"))
        if filename is None or not size:
            raise NoFile
    except BaseException:
        handle.close()
        os.unlink(handle.name)
        raise
    return Upload(handle.name, filename, size)


def _parse(request: Request, boundary: bytes, handle) -> tuple[dict[str, str], str | None, int]:
    # The decoder's limit bounds its own buffer (one chunk and what is left of the
    # last); the text fields are bounded below, the file by MAX_UPLOAD.
    decoder = MultipartDecoder(boundary, max_form_memory_size=4 * CHUNK, max_parts=16)
    stream = request.stream
    fields: dict[str, str] = {}
    filename: str | None = None
    size = 0
    current: Field | File | None = None
    text = bytearray()
    finished = False
    while not finished:
        chunk = stream.read(CHUNK)
        decoder.receive_data(chunk or None)
        while True:
            event = decoder.next_event()
            if isinstance(event, NeedData):
                break
            if isinstance(event, Epilogue):
                finished = True
                break
            if isinstance(event, Field | File):
                current, text = event, bytearray()
                if isinstance(event, File) and event.name == FILE_FIELD and filename is None:
                    filename = os.path.basename(event.filename.replace("\\", "/")) or "upload"
                continue
            if isinstance(event, Data) and current is not None:
                if isinstance(current, File):
                    if current.name == FILE_FIELD and current.filename is not None:
                        size += len(event.data)
                        if size > MAX_UPLOAD:
                            raise RequestEntityTooLarge(
                                f"Upload files of up to {MAX_UPLOAD // 2**20} MB.")
                        handle.write(event.data)
                else:
                    text += event.data
                    if len(text) > FORM_SLACK:
                        raise RequestEntityTooLarge("Only the file may be large.")
                    if not event.more_data:
                        fields[current.name] = text.decode("utf-8", "replace")
        if not chunk:
            finished = True
        # Let everyone else be served between chunks, however fast the client sends.
        socketio.sleep(0)
    return fields, filename, size


def _check_token(token: str | None) -> None:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    try:
        validate_csrf(token)
    except ValidationError:
        abort(400, "The form has expired or came from elsewhere. Reload the page and try again.")
