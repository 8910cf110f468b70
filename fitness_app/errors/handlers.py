"""Error pages, and JSON errors for API paths.

The 500 handler rolls back first. A database outage is not a 500: it gets a
503 with `Retry-After` (fitness_app/outages.py says what counts as one).
"""

from __future__ import annotations

from flask import current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response

from fitness_app import outages
from fitness_app.errors import bp
from fitness_app.extensions import db

UNAVAILABLE = "We cannot reach our database right now. Please try again in a few seconds."


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _render(status: int, message: str) -> tuple[str | Response, int] | Response:
    if _wants_json():
        return jsonify(error=message), status
    template = f"errors/{status}.html" if status in (403, 404, 500) else "errors/generic.html"
    try:
        return render_template(template, status=status, message=message), status
    except SQLAlchemyError as error:
        # The page's layout asks who is signed in, and the database that knows is away.
        if not outages.is_database_outage(error):
            raise
        return unavailable(error)


def unavailable(error: BaseException) -> Response:
    """503 with Retry-After, built without a query: the database is away.

    The page comes straight from the Jinja environment, because Flask's
    render_template runs the context processors, and Flask-Login's loads the
    user from the database.
    """
    outages.give_up_transaction()
    outages.state().noted(error)
    if _wants_json():
        response = jsonify(error="unavailable", message=UNAVAILABLE)
    else:
        page = current_app.jinja_env.get_template("errors/503.html")
        response = current_app.make_response(
            page.render(message=UNAVAILABLE, retry=request.method == "GET")
        )
    response.status_code = 503
    response.headers["Retry-After"] = str(outages.retry_after())
    return response


@bp.app_errorhandler(SQLAlchemyError)
def database_error(error: SQLAlchemyError) -> Response:
    if not outages.is_database_outage(error):
        raise error  # a bug, not an outage: Flask logs it and answers 500
    return unavailable(error)


@bp.app_errorhandler(CSRFError)
def csrf_error(error: CSRFError) -> tuple[str | Response, int] | Response:
    return _render(400, f"The form expired or was not sent from this site ({error.description}). "
                        "Go back, reload the page and try again.")


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[str | Response, int] | Response | HTTPException:
    if error.code is None or error.code < 400:
        return error
    if error.response is not None:
        # Built by whoever raised it (Flask-Limiter's on_breach: the form, Retry-After).
        return error.response
    return _render(error.code, error.description or error.name)


@bp.app_errorhandler(500)
def internal_error(error: InternalServerError) -> tuple[str | Response, int] | Response:
    original = getattr(error, "original_exception", None)
    if original is not None and outages.is_database_outage(original):
        # Raised while another error page was being built.
        return unavailable(original)
    db.session.rollback()
    return _render(500, "Something went wrong on our side. Please try again.")
