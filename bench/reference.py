"""CPU per POST in-process: the app's completed-workout POST against a plain Flask form POST.

The reference is the floor for a form POST on this stack: the same app, the
same extensions and database, the same login, the same form, one ORM INSERT,
one COMMIT, a flash and a redirect, and nothing else (no goals, no
notification, no unread counter, no push). It is mounted on the app object
here, in the bench process only. Both run through Flask's test client in one
process in threading mode, alternately, `--rounds` times `--posts` POSTs
each, measured with `time.process_time`; the user has no goals. Prints JSON.

    ASYNC_MODE=threading .venv/bin/python bench/reference.py sqlite:////tmp/x.db
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Blueprint, Flask, flash, redirect, url_for  # noqa: E402
from flask_login import current_user, login_required  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402
from werkzeug.wrappers import Response  # noqa: E402

from fitness_app import create_app  # noqa: E402
from fitness_app.extensions import db  # noqa: E402
from fitness_app.models import User, Workout, utcnow  # noqa: E402
from fitness_app.workouts.forms import WorkoutForm  # noqa: E402

reference = Blueprint("reference", __name__)


@reference.route("/reference/workouts", methods=["POST"])
@login_required
def plain_post() -> Response | tuple[str, int]:
    """Validate the workout form, INSERT one row, COMMIT, flash, redirect: nothing more."""
    form = WorkoutForm()
    if not form.validate_on_submit():
        return "invalid", 400
    data = form.to_input()
    db.session.add(Workout(user_id=current_user.id, completed_at=utcnow(), **data.as_dict()))
    db.session.commit()
    flash(f"Saved “{data.title}”.", "success")
    return redirect(url_for("workouts.index"))


def build(url: str) -> Flask:
    app = create_app("development", {"SQLALCHEMY_DATABASE_URI": url})
    app.register_blueprint(reference)
    with app.app_context():
        upgrade()
        db.session.add(User(username="ref", email="ref@example.com",
                            password_hash=generate_password_hash("password1",
                                                                 "pbkdf2:sha256:1")))
        db.session.commit()
    return app


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("url")
    p.add_argument("--posts", type=int, default=100)
    p.add_argument("--rounds", type=int, default=6)
    args = p.parse_args(argv)
    app = build(args.url)
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                      client.get("/auth/login").text).group(1)
    res = client.post("/auth/login", data={"email": "ref@example.com", "password": "password1",
                                           "csrf_token": token})
    assert res.status_code == 302, res.status_code
    fields = {"title": "Tempo run", "activity": "run", "duration_minutes": "31",
              "distance_km": "6.2", "performed_on": date.today().isoformat(), "completed": "y",
              "csrf_token": token}
    cpu: dict[str, list[float]] = {"app": [], "reference": []}
    paths = {"app": "/workouts/new", "reference": "/reference/workouts"}
    for kind in paths:  # warm both paths up
        client.post(paths[kind], data=fields)
    for _ in range(args.rounds):
        for kind, path in paths.items():
            spent = 0.0
            for _ in range(args.posts):
                start = time.process_time()
                status = client.post(path, data=fields).status_code
                spent += time.process_time() - start
                if status != 302:
                    raise RuntimeError(f"{path} did not redirect")
                # The redirect's page would show the flash; drop it, untimed, so
                # the session cookie does not grow from POST to POST.
                with client.session_transaction() as session:
                    session.pop("_flashes", None)
            cpu[kind].append(1000 * spent / args.posts)
    app_ms, ref_ms = statistics.median(cpu["app"]), statistics.median(cpu["reference"])
    print(json.dumps({"appMs": app_ms, "referenceMs": ref_ms, "ratio": app_ms / ref_ms,
                      "rounds": cpu, "posts": args.posts}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
