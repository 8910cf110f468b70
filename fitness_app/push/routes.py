"""`/push/key`, `/push/subscriptions` and `/settings/devices`.

`POST /push/subscriptions` is the one JSON route beside the forms (which answer
415 to JSON): the browser's `PushSubscription.toJSON()` is JSON, so the body
is too, and the CSRF token travels in `X-CSRFToken`. Its order of checks gives
each client its own answer: 401 before the CSRF check (an anonymous client
has no token worth checking), then 413, then 400 for anything but a
subscription at a known push service.
"""

from __future__ import annotations

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from fitness_app.extensions import csrf
from fitness_app.forms import accepts_json
from fitness_app.limits import per_address
from fitness_app.push import bp
from fitness_app.services.push import devices, keys

# A subscription is about 500 bytes; an endpoint is at most 2 KB.
MAX_BODY = 4096


def _unauthorized() -> tuple[Response, int]:
    return jsonify(error="unauthorized"), 401


def _check_csrf() -> None:
    """What CSRFProtect does before every other view, here after the 401 check."""
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()


@bp.route("/push/key")
def public_key() -> Response:
    """The application server key that `pushManager.subscribe` needs."""
    response = jsonify(publicKey=keys.current().public_key)
    response.cache_control.no_cache = True
    return response


@bp.route("/push/subscriptions", methods=["POST"])
@csrf.exempt  # checked below, after the 401 an anonymous client should get
@accepts_json
@per_address("RATELIMIT_PUSH_SUBSCRIBE")
def subscribe() -> tuple[Response, int]:
    if not current_user.is_authenticated:
        return _unauthorized()
    _check_csrf()
    if request.content_length is not None and request.content_length > MAX_BODY:
        abort(413, f"A subscription is at most {MAX_BODY} bytes.")
    request.max_content_length = MAX_BODY
    body = request.get_json(silent=True)
    try:
        subscription = devices.parse(body, current_app.config["PUSH_SERVICES"])
    except devices.InvalidSubscription as exc:
        return jsonify(error=str(exc)), 400
    device_id, created = devices.subscribe(
        current_user.id, current_user.login_id, subscription,
        request.headers.get("User-Agent", ""),
    )
    return jsonify(id=device_id), 201 if created else 200


@bp.route("/push/subscriptions/<device_id>", methods=["DELETE"])
@csrf.exempt  # checked below, after the 401
def unsubscribe(device_id: str) -> tuple[Response | str, int]:
    if not current_user.is_authenticated:
        return _unauthorized()
    _check_csrf()
    if not devices.is_device_id(device_id) or not devices.remove(current_user.id, device_id):
        return jsonify(error="no such device"), 404
    return "", 204


@bp.app_template_global()
def login_push_devices() -> list[str]:
    """This login's push devices, for the settings page: push.js forgets a stored id
    that is not among them (its login ended elsewhere, or it was removed)."""
    if not current_user.is_authenticated:
        return []
    return devices.of_login_ids(current_user.login_id)


@bp.route("/settings/devices")
@login_required
def device_list() -> str:
    return render_template(
        "push/devices.html", devices=devices.of_user(current_user.id)
    )


@bp.route("/settings/devices/<device_id>/remove", methods=["POST"])
@login_required
def remove_device(device_id: str) -> Response:
    """The Remove button of the devices page: a form, so it works without script."""
    if not devices.is_device_id(device_id) or not devices.remove(current_user.id, device_id):
        abort(404, "There is no such device.")
    flash("Device removed: it gets no more notifications.", "success")
    return redirect(url_for("push.device_list"))
