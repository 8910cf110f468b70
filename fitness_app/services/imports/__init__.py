"""Importing workout history: GPX, TCX and FIT files, and zips of them (Strava, Garmin exports).

It owns reading files (one reader per format, all returning a `Parsed`), the
import jobs and their progress, and the rows an import writes
(`imports`, `import_entries`, `workout_tracks`). It may import
`services.training` (an imported workout is a workout), `services.notifications`
(the `import_finished` notification), the shared service modules and
`fitness_app.realtime` (the `import_progress` emit); nothing imports it but
blueprints, the command line, app.py (`jobs.watch`) and the export (`gpx_out`).

- Readers run in a worker process (`worker.py`), never in the server: parsing
  is CPU-bound pure Python that would hold the event loop and the GIL. The
  server talks to the worker over a pipe, which yields under eventlet and
  gevent like any socket.
- `gpx.py`: gpxpy, after a streaming pass through defusedxml that refuses
  DOCTYPEs and entities and counts points before gpxpy loads anything.
- `tcx.py`: a small streaming reader on defusedxml (docs/architecture.md says
  why no TCX library).
- `fit.py`: fitdecode, with CRC checks and errors raised, not warned.
- `archive.py`: zips and `.gz`, with caps on entries, sizes and names.
- `track.py`: what every reader returns, activity names, the simplified route.
- `upload.py`: the upload streamed to a file, CSRF checked after, 50 MB cap.
- `jobs.py` and `rows.py`: the background import, one transaction per file.
- `child.py` is the reader process's main loop; `worker.py` the server's end of its pipe.
- `figures.py`: a workout's route as SVG and its pace, speed and climb, for its page.
- `gpx_out.py`: a stored route as GPX, for the export (services/accounts may use it).
"""
