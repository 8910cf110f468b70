"""A real SMTP server (aiosmtpd) in the test process, and the messages it received."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from deploy.processes import free_port

LINK = re.compile(r"https?://\S+/auth/reset/\S+")


@dataclass
class Received:
    recipients: list[str]
    message: EmailMessage

    @property
    def body(self) -> str:
        return self.message.get_content()

    def reset_link(self) -> str:
        match = LINK.search(self.body)
        assert match, f"no reset link in: {self.body}"
        return match.group(0)


class Mailbox:
    """The SMTP handler: keeps every message and lets a test wait for them.

    `hold()` makes the server keep the client waiting at DATA until `release()`,
    the way a slow mail server would; `refusing` makes it answer 451 instead.
    """

    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.port = 0
        self._changed = threading.Condition()
        self._released = threading.Event()
        self._released.set()
        self.waiting_at_data = threading.Event()
        # While `refusing`, DATA gets 451 (a server in trouble); `refused` counts those.
        self.refusing = False
        self.refused = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusing:
            with self._changed:
                self.refused += 1
                self._changed.notify_all()
            return "451 4.3.0 Try again later"
        if not self._released.is_set():
            self.waiting_at_data.set()
            # The handler runs on aiosmtpd's own loop thread; waiting there
            # stalls this SMTP server only, as a slow one would.
            self._released.wait(timeout=30)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with self._changed:
            self.messages.append(Received(list(envelope.rcpt_tos), parsed))
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    def hold(self) -> None:
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until `count` messages arrived; fail after `timeout` seconds."""
        with self._changed:
            arrived = self._changed.wait_for(lambda: len(self.messages) >= count, timeout)
            assert arrived, f"{len(self.messages)} of {count} messages after {timeout}s"
            return list(self.messages)


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    mailbox = Mailbox()
    mailbox.port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    try:
        yield mailbox
    finally:
        mailbox.release()
        controller.stop()
