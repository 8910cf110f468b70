"""Outgoing mail: composed and sent by one background task per process, never in a request.

Flask-Mailman speaks SMTP to MAIL_SERVER:MAIL_PORT. Without MAIL_SERVER it uses
its console backend, which writes each message, link included, to the server's
output, so `make run` alone is enough to reset a password.

A request only queues a *composer*, a function that returns the message (or
None), and returns at once. The sender task runs it in an app context:
- a slow or dead SMTP server holds that task only, never a request or another user;
- a composer may look things up (does this address have an account?) without
  the request paying for it, so a reset request takes the same time either way;
- callers queue after their commit, so no mail speaks of a change that rolled back.

Why `socketio.start_background_task` rather than an OS thread pool: in threading
mode it is a real thread; under eventlet or gevent it is a green thread, and
app.py has patched socket, ssl and select before smtplib is imported. Sending
mail is network I/O, so every wait on the SMTP server yields to the loop and
other users are served meanwhile; the CPU part (a MIME message, a TLS handshake)
is about a millisecond. A real OS thread would need eventlet's `tpool` or
gevent's threadpool, which fitness_app must not import, and would buy nothing
for work that is waiting on a socket.

One task per process, messages in queue order: a burst of reset requests never
opens more than one SMTP connection at a time. The task ends after
MAIL_IDLE_SECONDS without work and starts again with the next message.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from flask import Flask, current_app
from flask_mailman import EmailMessage

from fitness_app import outages
from fitness_app.extensions import mail, socketio

Composer = Callable[[], EmailMessage | None]
_EXTENSION_KEY = "fitness_mail_outbox"


class Outbox:
    """The process's queue of composers, and the task that works through it."""

    def __init__(self, app: Flask, idle_seconds: float) -> None:
        self._app = app
        self._idle_seconds = idle_seconds
        self._queue: queue.Queue[Composer] = queue.Queue()
        self._lock = threading.Lock()
        self._running = False

    def put(self, compose: Composer) -> None:
        with self._lock:
            self._queue.put(compose)
            if not self._running:
                self._running = True
                socketio.start_background_task(self._run)

    def _run(self) -> None:
        while True:
            try:
                compose = self._queue.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._running = False
                        return
                continue
            self._send(compose)

    def _send(self, compose: Composer) -> None:
        with self._app.app_context():
            try:
                # A composer that meets a database outage waits for its end: the
                # request that queued it has already told the person to expect it.
                message = outages.retry_through(self._app, "a mail", compose)
                if message is not None:
                    message.send()
            except Exception:  # noqa: BLE001 - one failed message must not end the task
                self._app.logger.exception("a mail was not sent")


def send_later(compose: Composer) -> None:
    """Queue a message for the sender task; call it after the commit it reports on."""
    current_app.extensions[_EXTENSION_KEY].put(compose)


def message(to: str, subject: str, body: str) -> EmailMessage:
    """A plain-text message from MAIL_DEFAULT_SENDER."""
    return EmailMessage(subject=subject, body=body, to=[to])


def init_app(app: Flask) -> None:
    # SMTP when a server is named, the console otherwise (Flask-Mailman would
    # default to SMTP on localhost:25, which a newcomer does not have).
    app.config.setdefault("MAIL_BACKEND", "smtp" if app.config.get("MAIL_SERVER") else "console")
    app.config.setdefault("MAIL_IDLE_SECONDS", 30.0)
    mail.init_app(app)
    app.extensions[_EXTENSION_KEY] = Outbox(app, app.config["MAIL_IDLE_SECONDS"])
