"""fitness_app: log workouts, set goals, and hear about it the moment it happens."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

from config import BASE_DIR, CONFIGS, INSTANCE_DIR, instance_secret_key


def create_app(config_name: str | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app, for every server (app.py), the `flask` command and the tests.

    `config_name` defaults to FLASK_CONFIG, else "development". app.py passes
    the server mode it patched for in `overrides`; tests point it at their own
    database there.
    """
    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder="../templates",
        static_folder="../static",
    )
    app.config.from_object(CONFIGS[config_name or os.environ.get("FLASK_CONFIG", "development")])
    if overrides:
        app.config.update(overrides)
    prepare_instance(app)
    register_extensions(app)
    register_blueprints(app)
    register_commands(app)
    register_middleware(app)
    return app


def prepare_instance(app: Flask) -> None:
    """Create what the instance folder must hold: the SQLite folder and a secret key.

    Here and not in config.py, so that importing the code writes nothing.
    """
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        if app.config.get("REQUIRE_SECRET_KEY"):
            raise RuntimeError(
                "SECRET_KEY must be set in production: every worker signs and checks "
                "sessions with it (docs/deployment.md)"
            )
        app.config["SECRET_KEY"] = instance_secret_key(Path(app.instance_path))


def register_middleware(app: Flask) -> None:
    """WSGI middleware, innermost first: each line wraps everything above it.

    socketio.init_app (in register_extensions) has already wrapped the Flask
    app in Socket.IO's middleware, which answers /socket.io/ itself. The
    compression filter must wrap that one, or the WebSocket handshake never
    reaches it.
    """
    from fitness_app import proxies
    from fitness_app.realtime import transport

    app.wsgi_app = transport.WithoutCompressionOffer(app.wsgi_app)
    # Outermost, so Socket.IO's origin check, the limits and the URLs all see
    # the client's address and scheme rather than nginx's.
    proxies.init_app(app)


def register_extensions(app: Flask) -> None:
    # Imported here, not at the top: a module of this package that needs none of
    # them (the import reader process, services/imports/child.py) starts without
    # loading SQLAlchemy, Socket.IO and the rest, about 0.7 s of CPU each time.
    from fitness_app import assets, database, forms, headers, limits, outages, urls
    from fitness_app.extensions import compress, csrf, db, login_manager, migrate, socketio
    from fitness_app.realtime import presence, queue
    from fitness_app.services.accounts import logins, mail, passwords
    from fitness_app.services.imports import jobs as imports
    from fitness_app.services.notifications import replay
    from fitness_app.services.push import fanout
    from fitness_app.services.schedule import reminders
    from fitness_app.services.training import goals, records

    # Before `socketio.init_app`: Flask-SocketIO hands the handlers it has
    # collected by then to each new server; a later import would register them
    # on the first app's server only.
    from fitness_app.sockets import events  # noqa: F401 - registers the socket handlers
    from fitness_app.sockets import limits as socket_limits

    outages.init_app(app)
    database.configure(app)
    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    logins.init_app(app)
    passwords.init_app(app)
    forms.init_app(app)
    headers.init_app(app)
    # Before any blueprint adds a rule: `<int:…>` must already be the bounded one.
    urls.init_app(app)
    socketio.init_app(
        app,
        async_mode=app.config["ASYNC_MODE"],
        # Redis pub/sub when REDIS_URL is set (the message queue of the deployment
        # guide, on the SOCKETIO_CHANNEL channel), in memory otherwise.
        client_manager=queue.client_manager(app, replay.resend_since),
        cors_allowed_origins=app.config["CORS_ALLOWED_ORIGINS"],
        max_http_buffer_size=app.config["SOCKETIO_MAX_HTTP_BUFFER_SIZE"],
        ping_interval=app.config["SOCKETIO_PING_INTERVAL"],
        ping_timeout=app.config["SOCKETIO_PING_TIMEOUT"],
        manage_session=True,
        # Each connection's events run one at a time on its own reader, not as
        # a task per event: a flood then waits in its own buffers, and the
        # per-connection token bucket (sockets/limits.py) refuses the excess.
        async_handlers=False,
    )
    socket_limits.init_app(app)
    limits.init_app(app)
    compress.init_app(app)
    assets.init_app(app)
    presence.init_app(app)
    goals.init_app(app)
    records.init_app(app)
    reminders.init_app(app)
    mail.init_app(app)
    imports.init_app(app)
    fanout.init_app(app)


def register_blueprints(app: Flask) -> None:
    from fitness_app import (
        account,
        admin,
        auth,
        digest,
        errors,
        feed,
        goals,
        imports,
        main,
        notifications,
        profiles,
        push,
        reactions,
        settings,
        workouts,
    )

    for module in (auth, workouts, goals, notifications, settings, push, admin, main, errors):
        app.register_blueprint(module.bp)
    app.register_blueprint(imports.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(account.reset_bp)
    app.register_blueprint(digest.bp)
    app.register_blueprint(profiles.bp)
    app.register_blueprint(feed.bp)
    app.register_blueprint(reactions.bp)

    @app.context_processor
    def inject_unread() -> dict[str, Any]:
        from flask_login import current_user

        from fitness_app.services.notifications.inbox import latest_id
        from fitness_app.services.notifications.unread_counts import unread_count

        if not current_user.is_authenticated:
            return {}
        return {
            "unread_total": unread_count(current_user.id),
            "last_notification_id": latest_id(current_user),
        }


def register_commands(app: Flask) -> None:
    from fitness_app import cli

    cli.init_app(app)
