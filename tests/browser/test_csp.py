"""Under the Content-Security-Policy (our origin only) every page still works: the self-hosted
Swagger UI renders, the admin's scripts run, and Chromium reports no violation."""

from typing import Any

import pytest

from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

PAGES = (
    "/",
    "/approvals/",
    "/orders/",
    "/accounts/?sort=-value",
    "/runs/",
    "/fills/",
    "/realized-gains/",
    "/users/",
    "/tokens/",
    "/reports/",
    "/scan/",
    "/restrictions/",
    "/audit/",
    "/settings/",
    "/settings/branding/",
    "/imports/",
    "/admin/",
    "/admin/accounts/account/",
    "/admin/auth/user/",
    "/admin/auth/user/add/",
)


def _log_in(page: Any, base: str) -> list[str]:
    """Sign in as firm A's admin; return the list that collects CSP violations from now on."""
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(f"{page.url}: {message.text[:90]}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.goto(f"{base}/login/")
    page.fill("#id_username", "firm_admin@firm-a.test")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return violations


def test_api_docs_render_swagger_ui_under_the_policy(server_port, page):
    base = f"http://firm-a.localhost:{server_port}"
    violations = _log_in(page, base)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    response = page.goto(f"{base}/api/v1/docs/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector(".swagger-ui .info .title")
    assert "rebalancing platform API" in page.locator(".swagger-ui .info .title").inner_text()
    page.wait_for_selector(".opblock")  # the operations, from /api/v1/schema/
    assert page.locator(".opblock").count() >= 40
    screenshot(page, "api-docs")
    assert violations == []
    assert all(url.startswith(base) or url.startswith("data:") for url in requests), requests


def test_pages_and_admin_work_under_the_policy(server_port, page):
    base = f"http://firm-a.localhost:{server_port}"
    violations = _log_in(page, base)
    for path in PAGES:
        response = page.goto(f"{base}{path}")
        assert response.status == 200, path
        assert response.headers["cache-control"] == "no-store", path
        page.wait_for_load_state("load")
    # The admin's own scripts still run (the user form's password toggle is script-driven).
    page.goto(f"{base}/admin/auth/user/add/")
    assert page.locator("#id_username").is_visible()
    assert violations == [], violations
