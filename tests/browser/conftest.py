"""Browser tests: Debian's Chromium driven by Playwright against a real server process.

Browser downloads are impossible here, so Playwright launches ``/usr/bin/chromium``. Without it
the tests are skipped on a laptop and fail in CI (CI=true), where .ci/run installs it.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ARTIFACTS_DIR, PASSWORD
from tests.processes import celery_worker, web_server

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


# The server sends every task (runs, reports) to this session's own queue; the ``worker``
# fixture consumes it for the tests that need runs or reports done.
QUEUE_ENV = {
    "OPTIMIZER_QUEUE": f"browser-{os.getpid()}",
    "CELERY_DEFAULT_QUEUE": f"browser-{os.getpid()}",
}


@pytest.fixture(scope="session")
def server_port(firms: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The project served by a real runserver process on the test database."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    with web_server(log, extra_env=QUEUE_ENV) as port:
        yield port


@pytest.fixture(scope="session")
def worker(firms: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Celery worker on the server's queue (runs and report batches complete)."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    queue = QUEUE_ENV["OPTIMIZER_QUEUE"]
    with celery_worker(log, queue=queue, extra_env=QUEUE_ENV) as name:
        yield name


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


def log_in(page: Any, base: str, email: str, password: str = PASSWORD) -> None:
    """Sign in on a firm's host (the test password by default); wait for the dashboard.

    Never used for a wrong password: django-axes locks out failed sign-ins.
    """
    page.goto(f"{base}/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/")


def download(page: Any, link: Any, path: Path) -> Path:
    """Click ``link`` (a locator), save what the browser downloads at ``path``; return it."""
    with page.expect_download() as info:
        link.click()
    info.value.save_as(path)
    return path


def post_status(page: Any, path: str, data: dict[str, str]) -> int:
    """POST ``data`` as a form to ``path`` from the page (its session and CSRF token), as a
    user without the buttons could still send by hand; return the answer's status."""
    return int(
        page.evaluate(
            """async ([path, data]) => {
                const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
                const response = await fetch(path, {
                    method: "POST", credentials: "same-origin", redirect: "manual",
                    headers: {"X-CSRFToken": token}, body: new URLSearchParams(data),
                });
                return response.status;
            }""",
            [path, data],
        )
    )


def api_get_status(page: Any, path: str, token: str) -> int:
    """GET ``path`` from the page with ``Authorization: Token <token>`` and no cookie."""
    return int(
        page.evaluate(
            """async ([path, token]) => (await fetch(path, {
                credentials: "omit", headers: {"Authorization": "Token " + token},
            })).status""",
            [path, token],
        )
    )
