"""One entry point: importing writes nothing, the `flask` command runs unpatched, and
production refuses to guess a secret key."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.live import ROOT


def python(code: str, tmp_path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "INSTANCE_PATH": str(tmp_path / "instance"), **env},
    )


@pytest.mark.one_database
def test_importing_the_code_writes_nothing(tmp_path):
    result = python("import config, fitness_app, fitness_app.models, fitness_app.cli", tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "instance").exists()


@pytest.mark.one_database
def test_the_first_app_built_keeps_a_secret_key_for_the_next(tmp_path):
    code = "from fitness_app import create_app; print(create_app().config['SECRET_KEY'])"
    first, second = python(code, tmp_path), python(code, tmp_path)
    assert first.returncode == 0, first.stderr
    key = (tmp_path / "instance" / "secret_key").read_text().strip()
    assert first.stdout.strip() == second.stdout.strip() == key
    assert len(key) == 64
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.one_database
def test_production_without_secret_key_refuses_to_start(tmp_path):
    result = python("from fitness_app import create_app; create_app('production')", tmp_path,
                    SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr


@pytest.mark.one_database
def test_the_flask_command_builds_the_app_unpatched(tmp_path):
    """`flask` finds the factory through .flaskenv, never app.py, which would patch."""
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "shell"],
        input="import eventlet.patcher as p; print('patched', p.is_monkey_patched('socket'));"
              " print('mode', app.config['ASYNC_MODE'])\n",
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "INSTANCE_PATH": str(tmp_path / "instance"),
             "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"},
    )
    assert result.returncode == 0, result.stderr
    assert "patched False" in result.stdout
    assert "mode threading" in result.stdout
