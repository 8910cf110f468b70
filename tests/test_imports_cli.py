"""`flask import-workouts` in a real terminal, and an import whose server stopped.

The command runs as a person runs it: `.venv/bin/flask` in a pseudo-terminal,
so click draws its progress bar as it would on screen.
"""

from __future__ import annotations

import os
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from fitness_app.extensions import db
from fitness_app.models import ImportEntry, User, Workout, WorkoutImport, utcnow
from fitness_app.services.imports import jobs, rows
from tests.conftest import built_app
from tests.imports_helpers import DATA, finished, gpx, strava_export

ROOT = Path(__file__).resolve().parent.parent


def run_in_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run a command with a pseudo-terminal as its output; return its code and what it drew."""
    controller, terminal = os.openpty()
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                               stdout=terminal, stderr=terminal)
    os.close(terminal)
    screen = bytearray()
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        screen += chunk
    os.close(controller)
    return process.wait(timeout=120), screen.decode("utf-8", "replace")


@pytest.mark.one_database
def test_import_workouts_draws_a_progress_bar_and_says_what_happened(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "INSTANCE_PATH": str(tmp_path / "instance"), "REDIS_URL": "",
           "FLASK_APP": "fitness_app"}
    flask = str(ROOT / ".venv/bin/flask")
    subprocess.run([flask, "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    subprocess.run([flask, "create-admin", "--email", "ann@example.com", "--username", "ann",
                    "--password", "password1"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    export = tmp_path / "export.zip"
    export.write_bytes(strava_export(5))
    code, screen = run_in_terminal(
        [flask, "import-workouts", "--email", "ann@example.com", str(export),
         str(DATA / "garmin-fenix-5-run.fit"), str(DATA / "invalid-filecrc.fit")], env)
    assert code == 0, screen
    frames = screen.replace("\r", "\n")
    assert re.search(r"export\.zip\s+\[#+-*\]\s+5/5\s+100%", frames), frames
    assert re.search(r"garmin-fenix-5-run\.fit\s+\[#+\]\s+100%", frames), frames
    assert "export.zip: 5 workouts added, 0 skipped as duplicates, 0 refused." in screen
    assert "invalid-filecrc.fit: 0 workouts added, 0 skipped as duplicates, 1 refused." in screen
    assert "refused: invalid-filecrc.fit: Its FIT checksum does not match" in screen

    code, screen = run_in_terminal(
        [flask, "import-workouts", "--email", "nobody@example.com", str(export)], env)
    assert code == 2 and "no user has the email nobody@example.com" in screen


@pytest.fixture
def app(database, tmp_path):
    with built_app(database, IMPORT_DIR=str(tmp_path / "uploads"), IMPORT_STALE_SECONDS=5) as app:
        yield app


def stopped_mid_way(app, content: bytes, recorded: int) -> int:
    """An import whose server stopped after `recorded` files: running, heartbeat long gone."""
    with app.app_context():
        user = User(username="ann", email="ann@example.com", password_hash="x")
        db.session.add(user)
        db.session.commit()
        path = Path(app.config["IMPORT_DIR"])
        path.mkdir(parents=True, exist_ok=True)
        (path / "left.upload").write_bytes(content)
        job = rows.create(user.id, "export.zip", str(path / "left.upload"))
        for position in range(recorded):
            rows.record(job.id, position, f"activities/{1000 + position}.gpx", None, "stub")
        job = db.session.get(WorkoutImport, job.id)
        job.status, job.heartbeat_at = "running", utcnow() - timedelta(minutes=5)
        db.session.commit()
        return job.id


def test_an_import_whose_server_stopped_is_resumed_after_the_last_file(app):
    import_id = stopped_mid_way(app, strava_export(4), recorded=2)
    with app.test_request_context():
        assert jobs.resume_stale() == [import_id]
    job = finished(app, import_id)
    assert (job.status, job.done, job.refused, job.added) == ("done", 4, 2, 2)
    with app.app_context():
        positions = db.session.scalars(db.select(ImportEntry.position)
                                       .filter_by(import_id=import_id)).all()
        assert sorted(positions) == [0, 1, 2, 3]
        assert len(db.session.scalars(db.select(Workout)).all()) == 2
    assert list(Path(app.config["IMPORT_DIR"]).glob("*")) == []


def test_an_import_whose_upload_is_gone_is_marked_failed(app):
    import_id = stopped_mid_way(app, gpx(60), recorded=0)
    Path(app.config["IMPORT_DIR"], "left.upload").unlink()
    with app.test_request_context():
        jobs.resume_stale()
    job = finished(app, import_id)
    assert job.status == "failed" and "upload it again" in job.error


def test_a_live_import_is_not_taken_over(app):
    import_id = stopped_mid_way(app, gpx(60), recorded=0)
    with app.app_context():
        db.session.get(WorkoutImport, import_id).heartbeat_at = utcnow()
        db.session.commit()
        assert jobs.resume_stale() == []
        assert not jobs.claim(import_id)
