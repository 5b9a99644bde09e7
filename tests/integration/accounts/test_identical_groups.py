"""Groups of substantially identical securities (IRC §1091(a)): the security master's share
classes, the firm's own groups (services, API, admin: audited), and the ledger's wash sales."""

from datetime import date
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from apps.access.models import AuditEvent
from apps.access.roles import Role
from apps.accounts.errors import AccountsErrorCode
from apps.accounts.models import (
    Account,
    Household,
    IdenticalGroup,
    RealizedGain,
    TaxLot,
    WashSaleMatch,
)
from apps.accounts.selectors import SHARE_CLASS_REASON, substantially_identical_groups
from apps.accounts.services.identical import (
    identical_group_create,
    identical_group_delete,
    identical_group_update,
    identical_index_opt_out_create,
    identical_index_opt_out_delete,
)
from apps.accounts.services.ledger import ledger_rebuild
from apps.common.exceptions import ApplicationError
from apps.securities.selectors import issuer_name_key
from tests.conftest import api_client, login_client
from tests.integration.accounts.conftest import entry

MINE = {"GOOG", "GOOGL", "BRK.A", "BRK.B", "VOO", "IVV", "ACM1", "ACM2", "XOM"}


@pytest.fixture
def master(firm_a):
    """Securities: two Alphabet classes (no CUSIP), two Berkshire classes (CUSIPs of one issuer,
    names that differ), two S&P 500 ETFs, two issuers sharing a name, and XOM."""
    from apps.securities.models import Security

    for symbol, name, kind, cusip in (
        ("GOOG", "Alphabet Inc. Class C", "stock", ""),
        ("GOOGL", "Alphabet Inc. Class A", "stock", ""),
        ("BRK.A", "Berkshire Hathaway Inc", "stock", "084670108"),
        ("BRK.B", "Berkshire Hathaway Class B common", "stock", "084670702"),
        ("VOO", "Vanguard S&P 500 ETF", "etf", ""),
        ("IVV", "iShares Core S&P 500 ETF", "etf", ""),
        ("ACM1", "Acme Corp", "stock", "111111AA1"),
        ("ACM2", "Acme Corp", "stock", "222222AA2"),
        ("XOM", "Exxon Mobil", "stock", ""),
    ):
        Security.objects.create(symbol=symbol, name=name, kind=kind, cusip=cusip)
    return firm_a


def _mine(groups):
    return [g for g in groups if g.symbols & MINE]


def test_issuer_names_compare_without_class_and_punctuation():
    assert issuer_name_key("Alphabet Inc. Class C") == issuer_name_key("Alphabet Inc.")
    assert issuer_name_key("News Corp") == issuer_name_key("NEWS CORP Class A") == "news corp"
    assert issuer_name_key("Fox Corporation") != issuer_name_key("Fox Factory")


def test_share_classes_of_one_issuer_are_the_default_groups(master, django_assert_num_queries):
    with django_assert_num_queries(3):  # stocks, funds on one index less opt-outs, firm members
        groups = _mine(substantially_identical_groups())
    # Not ACM1/ACM2 (two issuer numbers sharing a name) nor VOO/IVV (funds, not share classes).
    assert [g.sorted_symbols for g in groups] == [["BRK.A", "BRK.B"], ["GOOG", "GOOGL"]]
    berkshire, alphabet = groups
    assert [(b.reason, b.source) for b in berkshire.bases] == [
        (SHARE_CLASS_REASON, "security master: same CUSIP issuer number 084670")
    ]
    assert alphabet.bases[0].source == "security master: same issuer name (Alphabet Inc. Class C)"
    assert alphabet.bases[0].firm_group_id is None


def test_firm_groups_merge_with_the_defaults_transitively(master):
    admin = master.users[Role.FIRM_ADMIN]
    etfs = identical_group_create(
        symbols=["voo", " IVV "],
        reason="both track the S&P 500",
        source="prospectuses",
        acting_user=admin,
    )
    linked = identical_group_create(
        symbols=["GOOGL", "XOM"], reason="test link", source="test", acting_user=admin
    )
    groups = {tuple(g.sorted_symbols): g for g in _mine(substantially_identical_groups())}
    assert set(groups) == {("BRK.A", "BRK.B"), ("GOOG", "GOOGL", "XOM"), ("IVV", "VOO")}
    assert [b.firm_group_id for b in groups[("GOOG", "GOOGL", "XOM")].bases] == [None, linked.pk]
    assert groups[("IVV", "VOO")].bases[0].reason == "both track the S&P 500"
    assert sorted(etfs.members.values_list("symbol", flat=True)) == ["IVV", "VOO"]


@pytest.mark.parametrize(
    ("symbols", "reason", "code"),
    [
        (["VOO"], "r", AccountsErrorCode.INVALID),
        (["VOO", "voo"], "r", AccountsErrorCode.INVALID),
        (["VOO", "NOPE"], "r", AccountsErrorCode.UNKNOWN_SYMBOL),
        (["VOO", "IVV"], " ", AccountsErrorCode.INVALID),
        (["IVV", "XOM"], "r", AccountsErrorCode.SYMBOL_IN_ANOTHER_GROUP),
    ],
)
def test_a_group_needs_two_known_symbols_of_no_other_group_and_a_reason(
    master, symbols, reason, code
):
    admin = master.users[Role.FIRM_ADMIN]
    identical_group_create(symbols=["IVV", "GOOG"], reason="r", source="s", acting_user=admin)
    with pytest.raises(ApplicationError) as caught:
        identical_group_create(symbols=symbols, reason=reason, source="s", acting_user=admin)
    assert caught.value.code == code
    assert IdenticalGroup.objects.count() == 1


def _household_with_voo_loss_and_ivv_buy():
    household = Household.objects.create(external_id="H-SI", name="Identical household")
    taxable = Account.objects.create(
        household=household,
        custodian="schwab",
        number="SI1",
        name="Taxable",
        registration="taxable",
    )
    other = Account.objects.create(
        household=household, custodian="schwab", number="SI2", name="Other", registration="taxable"
    )
    entry(taxable, "dep", "deposit", date(2024, 1, 2), amount="50000")
    entry(other, "dep", "deposit", date(2024, 1, 2), amount="50000")
    entry(taxable, "b-voo", "buy", date(2024, 1, 3), "VOO", "10", "5000")
    entry(taxable, "s-voo", "sell", date(2024, 3, 1), "VOO", "10", "4000")  # a 1,000 loss
    entry(other, "b-ivv", "buy", date(2024, 3, 11), "IVV", "10", "4100")  # 10 days later
    ledger_rebuild(household=household)
    return household


def test_a_group_change_is_audited_and_replays_the_ledgers_it_touches(master):
    admin = master.users[Role.FIRM_ADMIN]
    household = _household_with_voo_loss_and_ivv_buy()
    assert not WashSaleMatch.objects.filter(household=household).exists()
    group = identical_group_create(
        symbols=["VOO", "IVV"], reason="same index", source="prospectuses", acting_user=admin
    )
    match = WashSaleMatch.objects.get(household=household)
    assert (match.loss_lot_key, match.replacement_lot_key) == ("b-voo", "b-ivv")
    assert match.disallowed_amount == Decimal("1000.00")
    assert TaxLot.objects.get(symbol="IVV").adjusted_basis_amount == Decimal("5100.00")
    assert RealizedGain.objects.get(symbol="VOO").disallowed_amount == Decimal("1000.00")
    created = AuditEvent.objects.get(action="identical_group.create")
    assert created.payload == {
        "symbols": ["IVV", "VOO"],
        "reason": "same index",
        "source": "prospectuses",
        "ledgers_replayed": 1,
    }
    identical_group_update(
        group=group, symbols=["VOO", "XOM"], reason="edited", source="s2", acting_user=admin
    )
    assert not WashSaleMatch.objects.filter(household=household).exists()
    updated = AuditEvent.objects.get(action="identical_group.update")
    assert updated.payload["before"]["symbols"] == ["IVV", "VOO"]
    assert updated.payload["after"] == {
        "symbols": ["VOO", "XOM"],
        "reason": "edited",
        "source": "s2",
    }
    identical_group_update(
        group=group, symbols=["VOO", "IVV"], reason="again", source="s3", acting_user=admin
    )
    assert WashSaleMatch.objects.filter(household=household).exists()
    identical_group_delete(group=group, acting_user=admin)
    assert not WashSaleMatch.objects.filter(household=household).exists()
    assert TaxLot.objects.get(symbol="IVV").adjusted_basis_amount == Decimal("4100.00")
    assert AuditEvent.objects.get(action="identical_group.delete").payload["symbols"] == [
        "IVV",
        "VOO",
    ]


def test_the_ledger_washes_a_goog_loss_with_a_googl_purchase(master):
    """A default group: GOOG sold at a loss, GOOGL bought 10 days later in the household."""
    household = Household.objects.create(external_id="H-GOOG", name="Alphabet household")
    taxable = Account.objects.create(
        household=household, custodian="schwab", number="G1", name="Taxable", registration="taxable"
    )
    ira = Account.objects.create(
        household=household, custodian="schwab", number="G2", name="IRA", registration="roth_ira"
    )
    entry(taxable, "dep", "deposit", date(2024, 1, 2), amount="50000")
    entry(ira, "dep", "deposit", date(2024, 1, 2), amount="50000")
    entry(taxable, "b-goog", "buy", date(2024, 1, 3), "GOOG", "100", "15000")
    entry(taxable, "s-goog", "sell", date(2024, 3, 1), "GOOG", "100", "13000")  # a 2,000 loss
    entry(taxable, "b-googl", "buy", date(2024, 3, 11), "GOOGL", "40", "5300")
    entry(ira, "b-googl-ira", "buy", date(2024, 3, 12), "GOOGL", "60", "7900")
    ledger_rebuild(household=household)
    matches = {m.replacement_lot_key: m for m in WashSaleMatch.objects.filter(household=household)}
    assert matches["b-googl"].disallowed_amount == Decimal("800.00")  # 40 of 100 shares
    assert matches["b-googl-ira"].is_permanent  # Rev. Rul. 2008-5: an IRA replacement
    assert matches["b-googl-ira"].disallowed_amount == Decimal("1200.00")
    assert TaxLot.objects.get(lot_key="b-googl").adjusted_basis_amount == Decimal("6100.00")
    loss = RealizedGain.objects.get(symbol="GOOG")
    assert (loss.gain_amount, loss.disallowed_amount, loss.form8949_code) == (
        Decimal("-2000.00"),
        Decimal("2000.00"),
        "W",
    )


def test_api_lists_adds_edits_and_removes_groups_for_model_managers(master, firms):
    viewer, advisor = api_client(firms["a"], Role.VIEWER), api_client(firms["a"], Role.ADVISOR)
    admin = api_client(firms["a"], Role.FIRM_ADMIN)
    body = {"symbols": ["VOO", "IVV"], "reason": "same index", "source": "prospectuses"}
    assert advisor.post("/api/v1/identical-groups/", body, format="json").status_code == 403
    created = admin.post("/api/v1/identical-groups/", body, format="json")
    assert created.status_code == 201
    pk = created.json()["id"]
    assert created.json() == {"id": pk, **body, "symbols": ["IVV", "VOO"]}
    assert viewer.get("/api/v1/identical-groups/").json() == [created.json()]
    effective = {
        tuple(g["symbols"]): g for g in viewer.get("/api/v1/identical-groups/effective/").json()
    }
    assert effective[("IVV", "VOO")]["bases"] == [
        {"reason": "same index", "source": "prospectuses", "firm_group_id": pk}
    ]
    assert effective[("GOOG", "GOOGL")]["bases"][0]["firm_group_id"] is None
    refused = admin.post(
        "/api/v1/identical-groups/", {**body, "symbols": ["IVV", "XOM"]}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == AccountsErrorCode.SYMBOL_IN_ANOTHER_GROUP
    edited = admin.put(
        f"/api/v1/identical-groups/{pk}/", {**body, "symbols": ["VOO", "IVV", "XOM"]}, format="json"
    )
    assert edited.json()["symbols"] == ["IVV", "VOO", "XOM"]
    assert advisor.delete(f"/api/v1/identical-groups/{pk}/").status_code == 403
    assert admin.delete(f"/api/v1/identical-groups/{pk}/").status_code == 204
    assert admin.get(f"/api/v1/identical-groups/{pk}/").status_code == 404
    with schema_context(firms["a"].schema):
        assert list(
            AuditEvent.objects.filter(action__startswith="identical_group.")
            .order_by("pk")
            .values_list("action", flat=True)
        ) == ["identical_group.create", "identical_group.update", "identical_group.delete"]


def test_firm_admins_edit_groups_in_the_admin_through_the_services(master, firms):
    client = login_client(firms["a"], Role.FIRM_ADMIN)
    form = {"symbols": "VOO, IVV", "reason": "same index", "source": "committee minutes"}
    response = client.post("/admin/accounts/identicalgroup/add/", form)
    assert response.status_code == 302
    with schema_context(firms["a"].schema):
        group = IdenticalGroup.objects.get()
        assert sorted(group.members.values_list("symbol", flat=True)) == ["IVV", "VOO"]
        assert AuditEvent.objects.filter(action="identical_group.create").count() == 1
    page = client.get(f"/admin/accounts/identicalgroup/{group.pk}/change/").content.decode()
    assert "IVV, VOO" in page
    refused = client.post("/admin/accounts/identicalgroup/add/", {**form, "symbols": "VOO, NOPE"})
    assert refused.status_code == 200
    assert "unknown symbols: NOPE" in refused.content.decode()
    response = client.post(f"/admin/accounts/identicalgroup/{group.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    with schema_context(firms["a"].schema):
        assert not IdenticalGroup.objects.exists()
        assert AuditEvent.objects.filter(action="identical_group.delete").count() == 1


def test_the_firm_restrictions_page_lists_the_groups_with_reason_and_source(master, firms):
    identical_group_create(
        symbols=["VOO", "IVV"],
        reason="both track the S&P 500",
        source="prospectuses",
        acting_user=master.users[Role.FIRM_ADMIN],
    )
    page = login_client(firms["a"], Role.VIEWER).get("/restrictions/").content.decode()
    assert '<td rowspan="1">GOOG, GOOGL</td><td>share classes of one issuer</td>' in page
    assert "both track the S&amp;P 500</td><td>prospectuses" in page
    assert "/admin/accounts/identicalgroup/" not in page  # the admin link is for firm admins
    admin_page = login_client(firms["a"], Role.FIRM_ADMIN).get("/restrictions/").content.decode()
    assert "/admin/accounts/identicalgroup/" in admin_page


@pytest.fixture
def index_funds(master):
    from apps.securities.models import Security

    for symbol, kind, index in (
        ("LCF", "etf", "Large-Cap 100"),
        ("LCFMX", "mutual_fund", "Large-Cap 100"),
        ("TMKT", "etf", "Total market"),  # alone on its index: no group
        ("ACTV", "mutual_fund", ""),  # tracks nothing: no group
    ):
        Security.objects.create(symbol=symbol, name=symbol, kind=kind, tracked_index=index)
    return master


def _household_with_lcf_loss_and_lcfmx_buy():
    household = Household.objects.create(external_id="H-IDX", name="Index household")
    taxable = Account.objects.create(
        household=household,
        custodian="schwab",
        number="IX1",
        name="Taxable",
        registration="taxable",
    )
    entry(taxable, "dep", "deposit", date(2024, 1, 2), amount="50000")
    entry(taxable, "b-lcf", "buy", date(2024, 1, 3), "LCF", "10", "5000")
    entry(taxable, "s-lcf", "sell", date(2024, 3, 1), "LCF", "10", "4000")  # a 1,000 loss
    entry(taxable, "b-lcfmx", "buy", date(2024, 3, 11), "LCFMX", "10", "4100")  # 10 days later
    ledger_rebuild(household=household)
    return household


def test_funds_on_one_index_are_one_group_by_default_until_the_firm_opts_a_fund_out(index_funds):
    admin = index_funds.users[Role.FIRM_ADMIN]
    groups = {tuple(g.sorted_symbols): g for g in substantially_identical_groups()}
    assert ("LCF", "LCFMX") in groups
    assert not [s for s in groups if {"TMKT", "ACTV"} & set(s)]
    basis = groups["LCF", "LCFMX"].bases[0]
    assert (basis.reason, basis.firm_group_id) == ("funds tracking one index (Large-Cap 100)", None)
    household = _household_with_lcf_loss_and_lcfmx_buy()
    match = WashSaleMatch.objects.get(household=household)  # the ledger reads the default group
    assert (match.loss_lot_key, match.replacement_lot_key) == ("b-lcf", "b-lcfmx")
    assert match.disallowed_amount == Decimal("1000.00")

    opt_out = identical_index_opt_out_create(
        symbol=" lcfmx ",
        reason="active share-class overlay",
        source="investment committee minutes 2024-02",
        acting_user=admin,
    )
    assert not [g for g in substantially_identical_groups() if "LCF" in g.symbols]
    assert not WashSaleMatch.objects.filter(household=household).exists()  # ledger replayed
    assert TaxLot.objects.get(symbol="LCFMX").adjusted_basis_amount == Decimal("4100.00")
    created = AuditEvent.objects.get(action="identical_index_opt_out.create")
    assert created.payload == {
        "symbol": "LCFMX",
        "tracked_index": "Large-Cap 100",
        "reason": "active share-class overlay",
        "source": "investment committee minutes 2024-02",
        "ledgers_replayed": 1,
    }
    identical_index_opt_out_delete(opt_out=opt_out, acting_user=admin)
    assert WashSaleMatch.objects.filter(household=household).exists()
    assert AuditEvent.objects.filter(action="identical_index_opt_out.delete").count() == 1


@pytest.mark.parametrize(
    ("symbol", "code"),
    [
        ("NOPE", AccountsErrorCode.UNKNOWN_SYMBOL),
        ("XOM", AccountsErrorCode.INVALID),  # a stock
        ("ACTV", AccountsErrorCode.INVALID),  # a fund on no index
        ("LCF", AccountsErrorCode.INVALID),  # already recorded
    ],
)
def test_an_opt_out_is_for_a_fund_on_an_index_once(index_funds, symbol, code):
    admin = index_funds.users[Role.FIRM_ADMIN]
    identical_index_opt_out_create(symbol="LCF", reason="r", source="s", acting_user=admin)
    with pytest.raises(ApplicationError) as caught:
        identical_index_opt_out_create(symbol=symbol, reason="r", source="s", acting_user=admin)
    assert caught.value.code == code


def test_api_and_admin_record_opt_outs_for_model_managers(index_funds, firms):
    advisor, admin = api_client(firms["a"], Role.ADVISOR), api_client(firms["a"], Role.FIRM_ADMIN)
    body = {"symbol": "LCFMX", "reason": "different methodology", "source": "prospectus"}
    url = "/api/v1/identical-groups/index-opt-outs/"
    assert advisor.post(url, body, format="json").status_code == 403
    created = admin.post(url, body, format="json")
    assert created.status_code == 201
    pk = created.json()["id"]
    assert advisor.get(url).json() == [{"id": pk, **body}]
    effective = advisor.get("/api/v1/identical-groups/effective/").json()
    assert not [g for g in effective if "LCF" in g["symbols"]]
    assert admin.post(url, {**body, "symbol": "XOM"}, format="json").status_code == 400
    assert admin.delete(f"{url}{pk}/").status_code == 204
    client = login_client(firms["a"], Role.FIRM_ADMIN)
    form = {"symbol": "lcf", "reason": "r", "source": "s"}
    assert client.post("/admin/accounts/identicalindexoptout/add/", form).status_code == 302
    refused = client.post("/admin/accounts/identicalindexoptout/add/", {**form, "symbol": "XOM"})
    assert "not a fund tracking an index" in refused.content.decode()
    page = client.get("/restrictions/").content.decode()
    assert "funds tracking one index (Large-Cap 100)" not in page  # LCFMX is alone on it now
    assert "<td>LCF</td><td>r</td>" in page
