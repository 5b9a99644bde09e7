"""Design page, firm restrictions page and the restrictions API: roles, audit, tenancy."""

from datetime import date

import pytest
import time_machine

from apps.access.models import AuditEvent
from apps.access.roles import Role
from apps.restrictions.models import OutsideHolding, Restriction
from apps.restrictions.services import restriction_add
from tests.conftest import api_client, login_client

TODAY = "2024-06-28 15:00:00-04:00"


@pytest.fixture
def screened(design):
    restriction_add(
        kind="exclude_esg",
        value="fossil_fuels",
        starts_on=date(2024, 1, 1),
        account=design["account"],
        reason="client values",
        acting_user=design["admin"],
    )
    return design


@time_machine.travel(TODAY, tick=False)
def test_advisor_designs_the_account_on_its_page(firms, screened):
    pk = screened["account"].pk
    advisor = login_client(firms["a"], Role.ADVISOR)
    page = advisor.get(f"/accounts/{pk}/design/").content.decode()
    assert "XOM removed: fossil fuels screen (account: client values)" in page
    assert "<svg" in page and "Add a screen or restriction" in page
    response = advisor.post(
        f"/accounts/{pk}/design/restrictions/",
        {
            "scope": "household",
            "kind": "exclude_industry",
            "value": "tobacco",
            "starts_on": "2024-06-28",
            "reason": "values",
        },
    )
    assert response.status_code == 302
    assert Restriction.objects.filter(scope="household", value="Tobacco").exists()
    response = advisor.post(
        f"/accounts/{pk}/design/outside/",
        {"scope": "account", "exposure_key": "INTC", "amount": "5000", "reason": "employer"},
    )
    assert OutsideHolding.objects.get().exposure_key == "symbol:INTC"
    page = advisor.get(f"/accounts/{pk}/design/").content.decode()
    assert "PM removed: Tobacco industry excluded (household: values)" in page
    assert "Outside holding symbol:INTC" in page
    screen = Restriction.objects.get(kind="exclude_esg")
    advisor.post(f"/accounts/{pk}/design/restrictions/{screen.pk}/end/")
    screen.refresh_from_db()
    assert screen.ends_on == date(2024, 6, 28)
    assert "XOM removed" not in advisor.get(f"/accounts/{pk}/design/").content.decode()
    advisor.post(f"/accounts/{pk}/design/model/", {"model": ""})
    assert "has no model" in advisor.get(f"/accounts/{pk}/design/").content.decode()
    assert AuditEvent.objects.filter(action="account.model_assign").count() == 2


@time_machine.travel(TODAY, tick=False)
def test_viewer_sees_but_cannot_change(firms, screened):
    pk = screened["account"].pk
    viewer = login_client(firms["a"], Role.VIEWER)
    page = viewer.get(f"/accounts/{pk}/design/")
    assert page.status_code == 200
    assert "Add a screen or restriction" not in page.content.decode()
    for url, data in (
        (f"/accounts/{pk}/design/model/", {"model": ""}),
        (f"/accounts/{pk}/design/restrictions/", {"kind": "never_buy", "value": "KO"}),
        (f"/accounts/{pk}/design/outside/", {"exposure_key": "KO", "weight": "0.1"}),
        ("/restrictions/add/", {"kind": "never_buy", "value": "KO"}),
    ):
        assert viewer.post(url, data).status_code == 403, url
    advisor = login_client(firms["a"], Role.ADVISOR)
    assert advisor.get("/restrictions/").status_code == 200
    assert advisor.post("/restrictions/substitutes/", {"symbol": "PM"}).status_code == 403
    admin = login_client(firms["a"], Role.FIRM_ADMIN)
    admin.post("/restrictions/substitutes/", {"symbol": "PM", "alternatives": "PEP, KO"})
    assert "PEP, KO" in admin.get("/restrictions/").content.decode()


@time_machine.travel(TODAY, tick=False)
def test_api_effective_target_and_restriction_writes(firms, screened):
    pk = screened["account"].pk
    viewer = api_client(firms["a"], Role.VIEWER)
    data = viewer.get(f"/api/v1/accounts/{pk}/effective-target/").json()
    assert data["total"] == "1.0000000000000000" or data["total"].rstrip("0") == "1."
    assert "XOM" in data["removed"] and "XOM" in data["blocked"]
    assert data["explanations"][0]["text"].startswith("CVX removed")
    assert viewer.post("/api/v1/restrictions/", {}, format="json").status_code == 403
    advisor = api_client(firms["a"], Role.ADVISOR)
    body = {"account": pk, "kind": "never_buy", "value": "ko", "reason": "dislikes"}
    created = advisor.post("/api/v1/restrictions/", body, format="json")
    assert created.status_code == 201 and created.json()["value"] == "KO"
    firm_wide = advisor.post(
        "/api/v1/restrictions/", {"kind": "never_buy", "value": "KO"}, format="json"
    )
    assert firm_wide.status_code == 403
    ended = advisor.post(f"/api/v1/restrictions/{created.json()['id']}/end/", {}, format="json")
    assert ended.json()["ends_on"] == "2024-06-28"
    assert (
        advisor.put(
            "/api/v1/substitutes/", {"symbol": "PM", "alternatives": ["KO"]}, format="json"
        ).status_code
        == 403
    )
    assert advisor.put(
        f"/api/v1/accounts/{pk}/model/", {"model": "core"}, format="json"
    ).json() == {"account": pk, "model": "CORE"}
    outside = advisor.post(
        f"/api/v1/accounts/{pk}/outside-holdings/",
        {"exposure_key": "sector:Real Estate", "scope": "household", "amount": "20000"},
        format="json",
    )
    assert outside.status_code == 201 and outside.json()["scope"] == "household"
    listed = advisor.get(f"/api/v1/restrictions/?account={pk}").json()["results"]
    assert {r["value"] for r in listed} == {"fossil_fuels", "KO"}


def test_firm_b_cannot_reach_firm_a_restrictions(firms, screened):
    account_pk = screened["account"].pk
    restriction_pk = Restriction.objects.get().pk
    b = api_client(firms["b"], Role.FIRM_ADMIN)
    assert b.get("/api/v1/restrictions/").json()["results"] == []
    assert (
        b.post(f"/api/v1/restrictions/{restriction_pk}/end/", {}, format="json").status_code == 404
    )
    assert b.get(f"/api/v1/accounts/{account_pk}/effective-target/").status_code == 404
    assert b.get(f"/api/v1/accounts/{account_pk}/outside-holdings/").status_code == 404
    # An id in the body that this firm does not have is a field error, as any unknown id.
    refused = b.post(
        "/api/v1/restrictions/",
        {"account": account_pk, "kind": "never_buy", "value": "KO"},
        format="json",
    )
    assert refused.status_code == 400
    assert list(refused.json()) == ["account"]
    page = login_client(firms["b"], Role.FIRM_ADMIN)
    assert page.get(f"/accounts/{account_pk}/design/").status_code == 404
    assert (
        page.post(f"/accounts/{account_pk}/design/restrictions/{restriction_pk}/end/").status_code
        == 404
    )
    assert page.post(f"/restrictions/{restriction_pk}/end/").status_code == 404
    assert "client values" not in page.get("/restrictions/").content.decode()


@time_machine.travel(TODAY, tick=False)
def test_firm_admin_adds_and_ends_a_firm_restriction_on_its_page(firms, design):
    """The firm page: a firm-wide restriction added (scope firm, audited), shown, ended today;
    an advisor (no model management) may look but not change; a bad value adds nothing."""
    admin = login_client(firms["a"], Role.FIRM_ADMIN)
    posted = admin.post(
        "/restrictions/add/",
        {"kind": "never_buy", "value": "PM", "starts_on": "2024-06-01", "reason": "policy"},
        follow=True,
    )
    restriction = Restriction.objects.get(value="PM")
    assert restriction.scope == "firm" and restriction.account_id is None
    assert "Added:" in posted.content.decode()
    assert AuditEvent.objects.filter(action__startswith="restriction").exists()
    refused = admin.post("/restrictions/add/", {"kind": "never_buy", "value": ""})
    assert refused.status_code == 400  # re-rendered with the input kept
    assert 'value="never_buy" selected' in refused.content.decode()
    assert Restriction.objects.count() == 1
    advisor = login_client(firms["a"], Role.ADVISOR)
    assert advisor.get("/restrictions/").status_code == 200
    assert advisor.post(f"/restrictions/{restriction.pk}/end/").status_code == 403
    ended = admin.post(f"/restrictions/{restriction.pk}/end/", follow=True)
    restriction.refresh_from_db()
    assert restriction.ends_on == date(2024, 6, 28)
    assert "Ended:" in ended.content.decode()
