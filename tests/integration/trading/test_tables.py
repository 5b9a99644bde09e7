"""Lists that sort, filter, page, total and export (apps.common.tables) on every list page.

Each totals row is compared with a sum over the stored rows; each CSV is parsed and compared
with the page's rows under the same filters and sort; sort keys outside the declared columns are
ignored; filters survive the header, pager and CSV links; queries do not grow with the rows.
"""

import csv
import io
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.access.roles import Role
from apps.accounts.attention import account_positions, account_positions_store
from apps.accounts.models import Account, Household, RealizedGain, Transaction
from apps.accounts.services.ledger import ledger_rebuild
from apps.common.tenancy import firm_today
from apps.trading.models import Order, Proposal, ProposedTrade, RunMode, RunScope, TradeSide
from apps.trading.services.runs import (
    rebalance_chunk_execute,
    rebalance_run_create,
    rebalance_run_start,
)
from tests.conftest import login_client
from tests.integration.accounts.conftest import entry
from tests.integration.trading.conftest import AS_OF, realize_aaa_gain


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "no-store" in response["Cache-Control"]
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def _run(run_book, firms):
    run = rebalance_run_create(
        scope=RunScope.MODEL,
        scope_ids=[run_book["model"].pk],
        mode=RunMode.FULL_REBALANCE,
        as_of=AS_OF,
        requested_by=firms["a"].users[Role.TRADER],
    )
    for chunk in rebalance_run_start(run_id=run.pk):
        rebalance_chunk_execute(run_id=run.pk, chunk=chunk)
    return run


def _money(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def test_accounts_list_shows_value_drift_last_run_and_totals_of_the_stored_rows(
    run_book, firms, firm_a
):
    run = _run(run_book, firms)
    outside = Account.objects.create(
        household=run_book["legacy"].household,
        custodian="fidelity",
        number="X1",
        name="Outside model",
        registration="ira",
        cash_amount=Decimal("1234.56"),
    )
    account_positions_store(as_of=firm_today())  # as the daily scan or the refresh task would
    client = login_client(firm_a, Role.VIEWER)
    response = client.get("/accounts/?sort=-value")
    table = response.context["table"]
    accounts = list(Account.objects.all())
    positions = account_positions(accounts=accounts, as_of=firm_today())

    rows = {row.obj.pk: row.obj for row in table.rows}
    values = [table.value(table.columns[7], obj) for obj in rows.values()]
    assert values == sorted(values, reverse=True)  # sorted by market value, largest first
    for pk, obj in rows.items():
        assert table.value(table.columns[7], obj) == positions[pk].value_amount
    assert rows[outside.pk].market_value_amount == Decimal("1234.56")  # valued without a model
    assert rows[outside.pk].position_drift_rate is None  # no model: no drift
    assert rows[run_book["legacy"].pk].last_proposal_on == run.as_of
    assert rows[outside.pk].last_proposal_on is None

    totals = table.totals()
    assert totals["cash"] == sum(a.cash_amount for a in accounts)
    assert totals["value"] == sum(p.value_amount for p in positions.values()) > 0
    page = response.content.decode()
    assert f"{totals['value']:,.2f}" in page
    assert "Total of 4 accounts" in page

    exported = _csv(client.get("/accounts/?sort=-value&format=csv"))
    assert [r["Number"] for r in exported] == [obj.number for obj in rows.values()]
    assert [Decimal(r["Market value"]) for r in exported] == values
    assert next(r for r in exported if r["Number"] == "X1")["Drift vs model"] == ""
    legacy = next(r for r in exported if r["Number"] == "R1")
    assert Decimal(legacy["Drift vs model"]) == positions[run_book["legacy"].pk].drift_rate
    assert legacy["Last proposal"] == run.as_of.isoformat()


def test_an_account_without_a_stored_position_is_valued_by_the_task_not_the_page(
    run_book, firm_a, monkeypatch
):
    from django.core.cache import cache

    from apps.accounts import attention, tasks

    added = Account.objects.create(
        household=run_book["legacy"].household,
        custodian="schwab",
        number="NEW",
        name="Created after the valuation",
        registration="taxable",
        cash_amount=Decimal("10"),
    )
    enqueued = []
    monkeypatch.setattr(tasks.account_positions_refresh, "delay", enqueued.append)
    cache.clear()
    client = login_client(firm_a, Role.VIEWER)
    first = client.get("/accounts/?sort=-value").context["table"]
    assert {row.obj.pk: row.obj.market_value_amount for row in first.rows}[added.pk] is None
    assert enqueued == [firm_today().isoformat()]
    tasks.account_positions_refresh(enqueued[0])
    second = client.get("/accounts/?sort=-value").context["table"]
    positions = account_positions(accounts=list(Account.objects.all()), as_of=firm_today())
    assert {row.obj.pk: row.obj.market_value_amount for row in second.rows} == {
        pk: p.value_amount for pk, p in positions.items()
    }
    assert second.totals()["value"] == sum(p.value_amount for p in positions.values())
    assert attention.stale_account_ids(as_of=firm_today()) == []


def test_unknown_or_hostile_sort_keys_keep_the_default_order(firm_a):
    household = Household.objects.create(external_id="H-SORT", name="Sort household")
    Account.objects.bulk_create(
        Account(
            household=household,
            custodian="schwab",
            number=f"N{i:02d}",
            name=f"Name {(i * 7) % 10}",
            registration="taxable",
        )
        for i in range(10)
    )
    client = login_client(firm_a, Role.VIEWER)
    default = [a.pk for a in client.get("/accounts/").context["page"]]
    assert default == list(
        Account.objects.order_by("custodian", "number").values_list("pk", flat=True)
    )
    for hostile in (
        "id;DROP TABLE accounts_account",
        "-password",
        "household__name) --",
        "cash_amount",  # a field, but not a declared key
        "--name",
    ):
        response = client.get("/accounts/", {"sort": hostile})
        assert response.status_code == 200, hostile
        assert [a.pk for a in response.context["page"]] == default, hostile
        assert response.context["table"].sort == ""
    by_name = client.get("/accounts/?sort=name").context["page"]
    names = [(a.name, a.pk) for a in by_name]
    assert names == sorted(names)  # the primary key breaks ties
    by_name_desc = client.get("/accounts/?sort=-name").context["page"]
    assert [(a.name, a.pk) for a in by_name_desc] == sorted(names, reverse=True)


def test_filters_survive_sorting_paging_and_csv_links(firm_a):
    household = Household.objects.create(external_id="H-LINKS", name="Links household")
    Account.objects.bulk_create(
        Account(
            household=household,
            custodian="schwab",
            number=f"L{i:03d}",
            name=f"Paged {i:03d}",
            registration=("taxable", "ira")[i % 2],
        )
        for i in range(130)
    )
    client = login_client(firm_a, Role.VIEWER)
    response = client.get("/accounts/?q=Paged&registration=taxable&sort=-name&page=1")
    table = response.context["table"]
    assert table.page.paginator.count == 65
    wanted = {"q": ["Paged"], "registration": ["taxable"]}

    def query(url: str) -> dict[str, list[str]]:
        return parse_qs(urlparse(url).query)

    assert query(table.next_url) == {**wanted, "sort": ["-name"], "page": ["2"]}
    assert query(table.csv_url) == {**wanted, "sort": ["-name"], "format": ["csv"]}
    name_header = next(h for h in table.headers if h.label == "Account")
    assert query(name_header.url) == {**wanted, "sort": ["name"]}  # toggles, back to page 1
    assert name_header.sort == "descending"
    page = response.content.decode()
    assert 'href="?q=Paged&amp;registration=taxable&amp;sort=-name&amp;page=2"' in page

    second = client.get("/accounts/" + table.next_url)
    rows = [*table.page, *second.context["page"]]
    assert len(rows) == 65 and all(a.registration == "taxable" for a in rows)
    assert [a.name for a in rows] == sorted((a.name for a in rows), reverse=True)
    exported = _csv(client.get("/accounts/" + table.csv_url))
    assert [r["Account"] for r in exported] == [a.name for a in rows]


def test_account_list_queries_do_not_grow_with_accounts(run_book, firm_a):
    client = login_client(firm_a, Role.VIEWER)
    client.get("/accounts/")  # session and caches warm

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/accounts/?sort=-value").status_code == 200
        return len(queries)

    few = count()
    household = Household.objects.create(external_id="H-MANY", name="Many")
    many = Account.objects.bulk_create(
        Account(
            household=household,
            custodian="schwab",
            number=f"M{i:03d}",
            name=f"Many {i:03d}",
            registration="taxable",
            model=run_book["model"],
        )
        for i in range(45)
    )
    for account in many[:5]:
        entry(account, "dep", "deposit", AS_OF, amount="1000")
        entry(account, "b", "buy", AS_OF, "AAA", "10", "500")
    ledger_rebuild(household=household)
    assert count() == few <= 20


def test_runs_list_totals_and_csv_are_the_stored_trades(run_book, firms, firm_a):
    run = _run(run_book, firms)
    client = login_client(firm_a, Role.VIEWER)
    table = client.get("/runs/?status=completed").context["table"]
    trades = ProposedTrade.objects.filter(proposal__run=run)
    totals = table.totals()
    assert totals["buys"] == sum(t.amount for t in trades if t.side == TradeSide.BUY) > 0
    assert totals["sells"] == sum(t.amount for t in trades if t.side == TradeSide.SELL)
    assert totals["tax"] == sum(p.estimated_tax_amount for p in run.proposals.all())
    run.refresh_from_db()
    assert totals["accounts"] == run.total_accounts == 3
    exported = _csv(client.get("/runs/?status=completed&format=csv"))
    assert [(r["Run"], Decimal(r["Buys"])) for r in exported] == [(f"#{run.pk}", totals["buys"])]
    assert client.get("/runs/?status=failed").context["table"].page.paginator.count == 0
    bad = client.get("/runs/?as_of_from=2024-13-40")
    assert bad.status_code == 200 and bad.context["filter_form"].errors

    proposals = client.get(f"/runs/{run.pk}/?sort=-turnover")
    shown = proposals.context["proposals"]
    turnovers = [p.turnover_amount for p in shown]
    assert turnovers == sorted(turnovers, reverse=True)
    assert proposals.context["table"].totals()["turnover"] == sum(
        p.turnover_amount for p in run.proposals.all()
    )
    exported = _csv(client.get(f"/runs/{run.pk}/?sort=-turnover&format=csv"))
    assert [Decimal(r["Turnover"]) for r in exported] == turnovers


def test_approvals_filter_sort_totals_and_csv(run_book, firms, firm_a):
    run = _run(run_book, firms)
    waiting = list(Proposal.objects.filter(run=run, status="pending_approval"))
    assert waiting
    client = login_client(firm_a, Role.TRADER)
    response = client.get("/approvals/?sort=-tax&status=pending_approval")
    table = response.context["table"]
    taxes = [p.estimated_tax_amount for p in response.context["pending"]]
    assert taxes == sorted(taxes, reverse=True)
    assert table.totals()["tax"] == sum(p.estimated_tax_amount for p in waiting)
    assert table.totals()["turnover"] == sum(p.turnover_amount for p in waiting)
    exported = _csv(client.get("/approvals/?sort=-tax&status=pending_approval&format=csv"))
    assert [r["Number"] for r in exported] == [
        p.account.number for p in response.context["pending"]
    ]
    assert client.get("/approvals/?q=Legacy").context["table"].page.paginator.count == 1


def test_orders_filters_kept_in_the_url_totals_and_csv(firms, firm_a):
    rows = [
        ("schwab", "AAA", "buy", "open", "0", "0"),
        ("schwab", "BBB", "sell", "filled", "10", "1000.10"),
        ("schwab", "CCC", "sell", "partially_filled", "5", "499.95"),
        ("fidelity", "AAA", "sell", "filled", "10", "2000"),
    ]
    for custodian, symbol, side, status, filled, amount in rows:
        Order.objects.create(
            custodian=custodian,
            symbol=symbol,
            side=side,
            total_shares=Decimal(10),
            status=status,
            filled_shares=Decimal(filled),
            fill_amount=Decimal(amount),
        )
    client = login_client(firm_a, Role.TRADER)
    query = "custodian=schwab&side=sell&created_from=2000-01-01&sort=-fill_amount"
    response = client.get(f"/orders/?{query}")
    table = response.context["table"]
    shown = list(response.context["orders"])
    assert [o.symbol for o in shown] == ["BBB", "CCC"]
    assert table.totals()["fill_amount"] == Decimal("1500.05")
    assert "custodian=schwab" in table.next_url or not table.page.has_next()
    assert parse_qs(urlparse(table.csv_url).query)["side"] == ["sell"]
    exported = _csv(client.get(f"/orders/?{query}&format=csv"))
    assert [(r["Symbol"], r["Filled amount"]) for r in exported] == [
        ("BBB", "1000.10"),
        ("CCC", "499.95"),
    ]
    assert client.get("/orders/?symbol=aaa").context["table"].page.paginator.count == 2
    assert client.get("/orders/?status=active").context["table"].page.paginator.count == 2
    assert client.get("/orders/?created_to=1999-12-31").context["orders"].paginator.count == 0
    bad = client.get("/orders/?created_from=yesterday&side=hold")
    assert bad.status_code == 200
    assert set(bad.context["form"].errors) == {"created_from", "side"}
    assert bad.context["orders"].paginator.count == 4  # invalid filters are shown, not applied


def test_realized_gains_firm_list_and_account_table_add_up_the_stored_rows(run_book, firm_a):
    legacy = run_book["legacy"]
    realize_aaa_gain(legacy)
    client = login_client(firm_a, Role.VIEWER)
    gains = RealizedGain.objects.filter(sold_on__year=AS_OF.year)
    assert gains.exists()
    table = client.get(f"/realized-gains/?year={AS_OF.year}&symbol=aaa").context["table"]
    totals = table.totals()
    assert totals["reportable"] == sum(g.reportable_gain_amount for g in gains if g.symbol == "AAA")
    assert totals["proceeds"] == sum(g.proceeds_amount for g in gains if g.symbol == "AAA")
    exported = _csv(client.get(f"/realized-gains/?year={AS_OF.year}&symbol=aaa&format=csv"))
    assert sum(Decimal(r["Reportable gain"]) for r in exported) == totals["reportable"]
    assert {r["Sold"] for r in exported} == {AS_OF.isoformat()}

    page = client.get(f"/accounts/{legacy.pk}/?year={AS_OF.year}&sort=-gain")
    mine = page.context["realized"]
    assert mine.totals()["gain"] == sum(g.gain_amount for g in gains.filter(account=legacy))
    exported = _csv(client.get(f"/accounts/{legacy.pk}/?year={AS_OF.year}&format=csv"))
    assert len(exported) == gains.filter(account=legacy).count()
    assert parse_qs(urlparse(mine.csv_url).query)["year"] == [str(AS_OF.year)]


def test_fills_list_shows_the_booked_fills_with_bought_and_sold_totals(run_book, firm_a):
    legacy = run_book["legacy"]
    entry(legacy, "fill:1:1", "buy", AS_OF, "BBB", "10", "500.50", source="fills:a.csv")
    entry(legacy, "fill:2:1", "sell", AS_OF, "AAA", "20", "900", source="fills:a.csv")
    ledger_rebuild(household=legacy.household)
    client = login_client(firm_a, Role.VIEWER)
    table = client.get("/fills/").context["table"]
    fills = Transaction.objects.filter(external_id__startswith="fill:")
    assert table.page.paginator.count == fills.count() == 2  # deposits and buys are not fills
    assert table.totals() == {
        "bought": sum(t.amount for t in fills if t.kind == "buy"),
        "sold": sum(t.amount for t in fills if t.kind == "sell"),
    }
    exported = _csv(client.get("/fills/?side=sell&format=csv"))
    assert [(r["Symbol"], Decimal(r["Price"]), r["Sold"]) for r in exported] == [
        ("AAA", 45, "900.00")
    ]


@pytest.mark.parametrize(
    "path",
    ["/accounts/", "/runs/", "/approvals/", "/orders/", "/fills/", "/realized-gains/"],
)
def test_every_list_answers_its_csv_and_odd_parameters_without_a_500(path, firms, firm_a):
    client = login_client(firm_a, Role.TRADER)
    for query in ("format=csv", "page=999999", "page=-1", "sort=-", "sort=%E2%80%AE", "year=99999"):
        assert client.get(f"{path}?{query}").status_code == 200, query
