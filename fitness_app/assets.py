"""Static files under content-hashed URLs, cached by browsers for a year.

Every `url_for("static", ...)` gains `?v=<hash of the file's bytes>`, so a
changed file gets a new URL and a page never mixes old and new assets. A
request that names the current hash may be kept for a year without another
look (`immutable`); anything else (an old or missing hash) is revalidated as
before. Hashes are read once per file per process, when a page first links it.
Unlike a compile step that writes renamed copies into `static/`, this needs no
build before `make run` and nothing generated in the repository.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from flask import Flask, request
from werkzeug.wrappers import Response

ONE_YEAR = 365 * 24 * 3600


class StaticHashes:
    """Content hashes of the files under one static folder, computed on first use."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder).resolve()
        self._hashes: dict[str, str | None] = {}

    def get(self, filename: str) -> str | None:
        """The short hash of `filename`, or None when it is not a file in the folder."""
        if filename not in self._hashes:
            path = (self.folder / filename).resolve()
            if path.is_file() and path.is_relative_to(self.folder):
                self._hashes[filename] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            else:
                self._hashes[filename] = None
        return self._hashes[filename]


def init_app(app: Flask) -> None:
    """Add the hash to static URLs and far-future caching to requests that carry it."""
    hashes = StaticHashes(app.static_folder or "static")

    @app.url_defaults
    def add_hash(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "v" not in values:
            digest = hashes.get(str(values.get("filename", "")))
            if digest:
                values["v"] = digest

    @app.after_request
    def cache_hashed(response: Response) -> Response:
        if (
            request.endpoint == "static"
            and response.status_code == 200
            and request.args.get("v")
            and request.args.get("v") == hashes.get(str((request.view_args or {}).get("filename")))
        ):
            response.cache_control.public = True
            response.cache_control.max_age = ONE_YEAR
            response.cache_control.immutable = True
            response.cache_control.no_cache = None
        return response
