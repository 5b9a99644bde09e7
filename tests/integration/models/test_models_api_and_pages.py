"""Models API and pages: roles, versions through the API, CSV upload, tenant isolation."""

from datetime import date
from decimal import Decimal

import pytest

from apps.access.roles import Role
from apps.models.models import ModelPortfolio
from apps.models.services import model_create, model_version_create
from tests.conftest import api_client, login_client
from tests.integration.models.conftest import weights


@pytest.fixture
def core(universe):
    admin = universe.users[Role.FIRM_ADMIN]
    model = model_create(
        code="CORE", name="Core equity", provider="Acme", fee_bps=Decimal("25"), acting_user=admin
    )
    model_version_create(
        model=model,
        effective_on=date(2024, 1, 2),
        cash_weight=Decimal("0.02"),
        security_weights=weights(AAPL="0.49", MSFT="0.49"),
        acting_user=admin,
    )
    return model


def test_api_lists_models_and_current_flattened_targets(firms, core):
    client = api_client(firms["a"], Role.VIEWER)
    rows = client.get("/api/v1/models/").json()["results"]
    assert [(r["code"], r["fee_bps"]) for r in rows] == [("CORE", "25.00")]
    detail = client.get(f"/api/v1/models/{core.pk}/?as_of=2024-02-01").json()
    assert detail["current_version"]["number"] == 1
    assert {t["symbol"]: t["weight"] for t in detail["current_version"]["targets"]} == {
        "AAPL": "0.49000000",
        "MSFT": "0.49000000",
    }
    flat = client.get(f"/api/v1/models/{core.pk}/flattened/?as_of=2024-02-01").json()
    assert flat["cash_weight"] == "0.02"
    assert flat["weights"] == [
        {"symbol": "AAPL", "weight": "0.49"},
        {"symbol": "MSFT", "weight": "0.49"},
    ]
    assert client.get(f"/api/v1/models/{core.pk}/flattened/?as_of=2023-01-01").status_code == 400


def test_api_version_create_needs_manage_models(firms, core):
    body = {
        "effective_on": "2024-07-01",
        "cash_weight": "0.1",
        "note": "trim",
        "targets": [
            {"symbol_or_model": "AAPL", "weight": "0.5"},
            {"symbol_or_model": "KO", "weight": "0.4"},
        ],
    }
    url = f"/api/v1/models/{core.pk}/versions/"
    assert api_client(firms["a"], Role.ADVISOR).post(url, body, format="json").status_code == 403
    admin = api_client(firms["a"], Role.FIRM_ADMIN)
    bad = admin.post(url, {**body, "cash_weight": "0.2"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "model_weights_sum"
    created = admin.post(url, body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["number"] == 2
    history = admin.get(url).json()
    assert [v["number"] for v in history] == [2, 1]
    assert len(history[1]["targets"]) == 2  # version 1 kept as it was
    csv = admin.get(f"/api/v1/models/{core.pk}/versions/1/csv/")
    assert csv.content.decode().splitlines()[1] == "AAPL,0.49000000"


def test_pages_list_detail_and_edit_by_role(firms, core):
    viewer = login_client(firms["a"], Role.VIEWER)
    html = viewer.get("/models/").content.decode()
    assert "CORE" in html and "New model" not in html
    detail = viewer.get(f"/models/{core.pk}/?as_of=2024-02-01")
    assert detail.status_code == 200
    page = detail.content.decode()
    assert "<svg" in page and "Version history" in page and "Edit (new version)" not in page
    assert viewer.get(f"/models/{core.pk}/edit/").status_code == 403
    assert viewer.post("/models/", {"code": "X", "name": "X", "fee_bps": "0"}).status_code == 403
    assert login_client(firms["a"], Role.ADVISOR).get(f"/models/{core.pk}/edit/").status_code == 403


def test_edit_page_creates_a_version_from_csv(firms, core):
    admin = login_client(firms["a"], Role.FIRM_ADMIN)
    form = admin.get(f"/models/{core.pk}/edit/").content.decode()
    assert "AAPL,0.49000000" in form  # prefilled from the current version
    bad = admin.post(
        f"/models/{core.pk}/edit/",
        {"action": "version", "effective_on": "2024-07-01", "csv_text": "AAPL,x\nCASH,1\n"},
    )
    assert bad.status_code == 200 and "line/target 1" in bad.content.decode()
    ok = admin.post(
        f"/models/{core.pk}/edit/",
        {"action": "version", "effective_on": "2024-07-01", "csv_text": "AAPL,60%\nPEP,0.4\n"},
    )
    assert ok.status_code == 302
    assert core.versions.count() == 2
    created = admin.post("/models/", {"code": "new", "name": "New", "fee_bps": "0"})
    assert created.status_code == 302
    assert ModelPortfolio.objects.filter(code="NEW").exists()


def test_firm_b_cannot_see_firm_a_models(firms, core):
    pk = core.pk
    b = api_client(firms["b"], Role.FIRM_ADMIN)
    assert b.get("/api/v1/models/").json()["results"] == []
    assert b.get(f"/api/v1/models/{pk}/").status_code == 404
    assert b.get(f"/api/v1/models/{pk}/versions/").status_code == 404
    assert b.get(f"/api/v1/models/{pk}/flattened/").status_code == 404
    assert (
        b.post(
            f"/api/v1/models/{pk}/versions/",
            {"effective_on": "2024-07-01", "cash_weight": "1", "targets": []},
            format="json",
        ).status_code
        == 404
    )
    page = login_client(firms["b"], Role.FIRM_ADMIN)
    assert page.get(f"/models/{pk}/").status_code == 404
    assert page.get(f"/models/{pk}/edit/").status_code == 404
    assert page.get(f"/models/{pk}/versions/1.csv").status_code == 404


def test_an_uploaded_model_csv_that_is_not_utf8_is_refused_not_altered(firms, core):
    from django.core.files.uploadedfile import SimpleUploadedFile

    admin = login_client(firms["a"], Role.FIRM_ADMIN)
    latin1 = SimpleUploadedFile("targets.csv", "AAPL,0.5\nNESTLÉ,0.5\n".encode("latin-1"))
    refused = admin.post(
        f"/models/{core.pk}/edit/",
        {"action": "version", "effective_on": "2024-07-01", "csv_file": latin1},
    )
    assert refused.status_code == 200
    assert "is not UTF-8" in refused.content.decode()
    assert core.versions.count() == 1
