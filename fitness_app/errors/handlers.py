"""Error pages, and JSON errors for API paths. The 500 handler rolls back first."""

from __future__ import annotations

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from fitness_app.errors import bp
from fitness_app.extensions import db


def _wants_json() -> bool:
    return (
        request.path.startswith(("/api/", "/push/"))
        or request.accept_mimetypes.best == "application/json"
    )


def _render(status: int, message: str) -> tuple[str | Response, int]:
    if _wants_json():
        return jsonify(error=message), status
    template = f"errors/{status}.html" if status in (403, 404, 500) else "errors/generic.html"
    return render_template(template, status=status, message=message), status


@bp.app_errorhandler(CSRFError)
def csrf_error(error: CSRFError) -> tuple[str | Response, int]:
    return _render(400, f"The form expired or was not sent from this site ({error.description}). "
                        "Go back, reload the page and try again.")


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[str | Response, int] | HTTPException:
    if error.code is None or error.code < 400:
        return error
    if error.response is not None:
        # Built by whoever raised it (Flask-Limiter's on_breach: the form, Retry-After).
        return error.response
    return _render(error.code, error.description or error.name)


@bp.app_errorhandler(500)
def internal_error(error: Exception) -> tuple[str | Response, int]:
    db.session.rollback()
    return _render(500, "Something went wrong on our side. Please try again.")
