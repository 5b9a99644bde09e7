"""Smoke: a firm user logs in on the firm's own host and lands on the dashboard."""

import pytest

from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_firm_admin_logs_in_and_lands_on_dashboard(server_port, page):
    base = f"http://firm-a.localhost:{server_port}"
    page.goto(f"{base}/")
    assert "/login/" in page.url
    screenshot(page, "login")
    page.fill("#id_username", "firm_admin@firm-a.test")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    assert page.locator("h1").inner_text() == "Dashboard"
    assert "Firm A Wealth" in page.locator("header").inner_text()
    screenshot(page, "dashboard")


def test_wrong_firm_user_is_refused_in_the_browser(server_port, page):
    page.goto(f"http://firm-a.localhost:{server_port}/login/")
    page.fill("#id_username", "firm_admin@firm-b.test")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    assert "didn't match" in page.locator("[role=alert]").inner_text()


def test_platform_home_is_served_on_the_public_host(server_port, page):
    page.goto(f"http://localhost:{server_port}/")
    assert "rebalancing" in page.locator("h1").inner_text().lower()
    screenshot(page, "platform-home")
