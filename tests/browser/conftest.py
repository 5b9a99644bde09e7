"""Browser tests: Debian's Chromium driven by Playwright against a real server process.

Browser downloads are impossible here, so Playwright launches ``/usr/bin/chromium``. Without it
the tests are skipped on a laptop and fail in CI (CI=true), where .ci/run installs it.
"""

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ARTIFACTS_DIR
from tests.processes import web_server

# Playwright's sync API runs an event loop in this thread; fixtures still use the ORM here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium(firms: Any) -> Iterator[Any]:
    """One headless Chromium for the session.

    Requests the firms first: ORM work must happen before Playwright's event loop starts in
    this thread (Django's connections are per event-loop context there).
    """
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def server_port(firms: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The project served by a real runserver process on the test database."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    with web_server(log) as port:
        yield port


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page per test."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: Any, name: str) -> None:
    """Save a full-page PNG under artifacts/screenshots/ (look at them)."""
    target = ARTIFACTS_DIR / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / f"{name}.png"), full_page=True)
