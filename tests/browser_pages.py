"""Signed-in pages in Chromium, one browser context each, checked for script errors on close."""

from __future__ import annotations

import requests
from playwright.sync_api import Browser, BrowserContext, Page

from tests.test_browser import CONNECTED
from tests.test_ui import AXE, WIDTHS


class SignedInPages:
    """Opens pages as the user of a `requests` session (its cookies), at a width of WIDTHS,
    with axe-core loaded, once the page's socket is connected."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self._browser = browser
        self._base = base_url
        self._contexts: list[BrowserContext] = []

    def open(self, session: requests.Session, width: int, path: str = "/") -> Page:
        context = self._browser.new_context(base_url=self._base, **WIDTHS[width])
        context.set_default_timeout(10_000)
        context.add_init_script(path=str(AXE))
        context.add_cookies([{"name": c.name, "value": c.value, "url": self._base}
                             for c in session.cookies])
        self._contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.goto(path)
        page.wait_for_function(CONNECTED)
        return page

    def close(self) -> None:
        """Assert that no page threw, then close their sockets and contexts."""
        for context in self._contexts:
            for page in context.pages:
                assert page.errors == []
                page.evaluate("window.fitnessSocket && window.fitnessSocket.disconnect()")
            context.close()
