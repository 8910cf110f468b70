"""An earlier commit of this repository, built to be served beside this tree (`--baseline`).

`build` clones this repository into the run's work folder (`git clone` +
`git checkout COMMIT`), and gives the clone a venv: this tree's own when every
package the commit pins in requirements.txt is installed here at that version,
else a venv of its own in the clone, installed from its requirements.txt. The
bench then serves the clone's `app.py` as `make run` would, from the clone's
folder (`processes.Tree`), so both trees meet the same client, probe and
database preparation. Everything lives in the work folder, removed with it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bench.processes import HERE, ROOT, VENV_BIN, Tree, log

_PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;#]+)\s*(?:#.*)?$")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: str) -> dict[str, str] | None:
    """name → version for a requirements file of plain `name==version` pins; None otherwise."""
    found: dict[str, str] = {}
    for line in requirements.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _PIN.match(line)
        if not match:
            return None
        found[_normalise(match.group(1))] = match.group(2)
    return found


def _installed_here() -> dict[str, str]:
    frozen = subprocess.run([str(VENV_BIN / "python"), "-m", "pip", "freeze"], cwd=ROOT,
                            capture_output=True, text=True, check=True, timeout=120).stdout
    return pins("\n".join(line for line in frozen.splitlines() if "==" in line)) or {}


def build(commit: str, workdir: Path) -> Tree:
    """Clone this repository at `commit` into `workdir` and give it a venv that matches it."""
    root = workdir / f"baseline-{commit}"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(root)], check=True, timeout=300)
    subprocess.run(["git", "checkout", "--quiet", commit], cwd=root, check=True, timeout=60)
    sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, check=True,
                         capture_output=True, text=True).stdout.strip()
    wanted = pins((root / "requirements.txt").read_text())
    installed = _installed_here()
    if wanted is not None and all(installed.get(k) == v for k, v in wanted.items()):
        log(f"baseline {sha}: its requirements are installed here; serving it from this venv")
        return Tree(root, HERE.venv_bin, f"baseline {sha}")
    differ = sorted(k for k, v in (wanted or {}).items() if installed.get(k) != v)
    log(f"baseline {sha}: its own venv (differs here: {', '.join(differ) or 'unpinned lines'})")
    subprocess.run([sys.executable, "-m", "venv", str(root / ".venv")], check=True, timeout=300)
    subprocess.run([str(root / ".venv" / "bin" / "pip"), "install", "--quiet",
                    "--disable-pip-version-check", "-r", "requirements.txt"],
                   cwd=root, check=True, timeout=1800)
    return Tree(root, root / ".venv" / "bin", f"baseline {sha}")
