"""`flask import-workouts --email E FILE…`: the web import, from a terminal, with a progress bar."""

from __future__ import annotations

import shutil
import tempfile
from contextlib import nullcontext
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from fitness_app.extensions import db
from fitness_app.models import ImportEntry, User
from fitness_app.realtime import push
from fitness_app.services.imports import jobs, rows, upload


@click.command("import-workouts")
@with_appcontext
@click.option("--email", required=True, help="The user whose workouts these are.")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_workouts(email: str, files: tuple[Path, ...]) -> None:
    """Import .gpx, .tcx and .fit files, or zips of them, as the import page does.

    Open pages of the user see the progress live when REDIS_URL reaches the
    servers' message queue.
    """
    from fitness_app.cli import _redis_answers

    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.BadParameter(f"no user has the email {email}", param_hint="--email")
    url, channel = current_app.config.get("REDIS_URL"), current_app.config["SOCKETIO_CHANNEL"]
    live = url and _redis_answers(url, channel)
    with push.through_message_queue(url, channel) if live else nullcontext():
        for path in files:
            _import_one(user.id, path)


def _import_one(user_id: int, path: Path) -> None:
    # A copy, as an upload is one: the import deletes it when done, and a server
    # that finds the import stale can resume it from there.
    with tempfile.NamedTemporaryFile(dir=upload.directory(), suffix=".upload",
                                     delete=False) as copy:
        with path.open("rb") as source:
            shutil.copyfileobj(source, copy)
    job = rows.create(user_id, path.name, copy.name)
    emit = jobs.emit_progress(job.id)
    bar: click.progressbar | None = None

    def progress(done: int, total: int, unit: str) -> None:
        nonlocal bar
        emit(done, total, unit)
        if bar is None:
            bar = click.progressbar(length=total, label=path.name, show_pos=unit == "files",
                                    show_percent=True)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        finished = jobs.run(job.id, progress)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if finished.status == "failed":
        click.echo(f"{path.name}: {finished.error}", err=True)
        return
    click.echo(f"{path.name}: {rows.summary(finished)}")
    for name, outcome, message in db.session.execute(
        sa.select(ImportEntry.name, ImportEntry.outcome, ImportEntry.message)
        .where(ImportEntry.import_id == job.id, ImportEntry.outcome != rows.ADDED)
        .order_by(ImportEntry.position)
    ):
        click.echo(f"  {outcome}: {name}: {message}")
