"""`/digest/unsubscribe/<token>`: the link every digest email carries.

RFC 8058: a mail client turns the digest off by POSTing
`List-Unsubscribe=One-Click` to the link, with no cookie and no CSRF token,
so the POST is exempt from CSRF and the signed token is the only credential.
A GET (a person clicking the link) changes nothing: it shows a page whose
button makes the same POST, so a link scanner that follows every URL in an
email never unsubscribes anyone.
"""

from __future__ import annotations

from flask import render_template, request

from fitness_app.digest import bp
from fitness_app.extensions import csrf
from fitness_app.services.schedule import digest


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str) -> tuple[str, int]:
    user = digest.user_for(token)
    if user is None:
        return render_template("digest/unsubscribe.html", user=None), 404
    if request.method == "POST":
        digest.turn_off(user)
        return render_template("digest/unsubscribe.html", user=user, done=True), 200
    return render_template("digest/unsubscribe.html", user=user, done=False), 200
