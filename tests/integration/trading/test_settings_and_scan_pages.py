"""Firm settings (approval policy, branding) for firm admins only; the daily scan's to-do list."""

from apps.access.models import AuditEvent
from apps.access.roles import Role
from apps.trading.models import DailyScan, RebalanceRun, TradingSettings
from tests.conftest import login_client


def test_firm_admin_sets_policy_and_others_cannot(firms, db):
    from django_tenants.utils import schema_context

    admin = login_client(firms["a"], Role.FIRM_ADMIN)
    page = admin.get("/settings/")
    assert page.status_code == 200
    data = {
        "is_auto_approve": "on",
        "large_tax_rate": "2",  # percent
        "large_drift_rate": "5",
        "big_trade_rate": "25",
    }
    assert admin.post("/settings/", data).status_code == 302
    with schema_context(firms["a"].schema):
        policy = TradingSettings.objects.get()
        assert policy.is_auto_approve
        assert str(policy.large_tax_rate) == "0.02000000"
        assert AuditEvent.objects.filter(action="trading_settings.update").exists()
    for role in (Role.TRADER, Role.ADVISOR, Role.VIEWER):
        assert login_client(firms["a"], role).get("/settings/").status_code == 403


def test_branding_page_saves_colours(firms, db):
    admin = login_client(firms["a"], Role.FIRM_ADMIN)
    response = admin.post(
        "/settings/branding/",
        {"display_name": "Firm A Private Wealth", "primary_colour": "#112233",
         "secondary_colour": "#aabbcc", "disclaimer": "Estimates, not tax advice."},
    )  # fmt: skip
    assert response.status_code == 302
    assert "#112233" in admin.get("/settings/branding/").content.decode()
    bad = admin.post(
        "/settings/branding/",
        {"primary_colour": "red", "secondary_colour": "#aabbcc"},
    )
    assert bad.status_code == 200


def test_scan_page_lists_and_starts_a_run(firms, run_book):
    trader = login_client(firms["a"], Role.TRADER)
    assert trader.post("/scan/", {"action": "scan"}).status_code == 302
    scan = DailyScan.objects.get()
    html = trader.get("/scan/").content.decode()
    assert "Legacy" in html
    ids = [str(i.account_id) for i in scan.items.all()]
    response = trader.post("/scan/", {"action": "run", "account_ids": ids})
    run = RebalanceRun.objects.get()
    assert response["Location"] == f"/runs/{run.pk}/"
    assert sorted(map(str, run.scope_ids)) == sorted(ids)
    viewer = login_client(firms["a"], Role.VIEWER)
    assert viewer.get("/scan/").status_code == 200
    assert viewer.post("/scan/", {"action": "scan"}).status_code == 403
