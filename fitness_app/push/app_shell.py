"""What makes the site an installable app: `/manifest.webmanifest` and `/sw.js`.

The service worker must be served from the root for its scope to be `/`;
`Cache-Control: no-cache` makes browsers check it on every navigation, so a
new version reaches everyone at once. It runs under the same strict CSP as
the pages (its own response carries it), which it needs nothing beyond.
"""

from __future__ import annotations

from flask import current_app, jsonify, send_from_directory, url_for
from werkzeug.wrappers import Response

from fitness_app.main.filters import APP_NAME
from fitness_app.push import bp

# From static/css/app.css: --accent (the header of the installed app) and --bg.
THEME_COLOR = "#1f56d0"
BACKGROUND_COLOR = "#f4f6fb"


@bp.route("/manifest.webmanifest")
def manifest() -> Response:
    icon = "img/icon-{}.png"
    response = jsonify(
        id="/",
        name=APP_NAME,
        short_name=APP_NAME,
        description="Log workouts, set goals, and hear about it the moment it happens.",
        start_url="/",
        scope="/",
        display="standalone",
        theme_color=THEME_COLOR,
        background_color=BACKGROUND_COLOR,
        icons=[
            {"src": url_for("static", filename=icon.format(192)), "sizes": "192x192",
             "type": "image/png", "purpose": "any"},
            {"src": url_for("static", filename=icon.format(512)), "sizes": "512x512",
             "type": "image/png", "purpose": "any"},
            {"src": url_for("static", filename=icon.format("maskable-512")),
             "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
    )
    response.mimetype = "application/manifest+json"
    response.cache_control.no_cache = True
    return response


@bp.route("/sw.js")
def service_worker() -> Response:
    response = send_from_directory(
        current_app.static_folder, "js/sw.js", mimetype="text/javascript", max_age=0
    )
    response.cache_control.no_cache = True
    response.cache_control.public = None
    return response
