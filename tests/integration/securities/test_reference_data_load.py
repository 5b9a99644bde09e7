"""reference_data_load: the universe, real and synthetic prices, idempotent."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from apps.securities import reference_data as ref
from apps.securities.models import FundHolding, Price, Security, SecurityKind
from apps.securities.selectors import fund_holdings_get, price_map_get
from apps.securities.services.reference import reference_data_load

END_ON = date(2023, 1, 10)
SYNTHETIC_FROM = date(2023, 1, 2)


@pytest.mark.django_db
def test_load_is_complete_labelled_and_idempotent():
    first = reference_data_load(end_on=END_ON, synthetic_from=SYNTHETIC_FROM, seed=5)
    assert first.securities.created == Security.objects.count() == 511 + len(ref.BASKET_FUNDS)
    assert first.real_price_rows == 20 * 8313
    # 2022-12-29..2023-01-10 for the 20 real names (9 business days); 2023-01-02..01-10 for the
    # other 491 securities (7 business days), and the demo basket funds on those 7 days.
    assert first.synthetic_price_rows == 20 * 9 + 491 * 7
    assert first.basket_price_rows == len(ref.BASKET_FUNDS) * 7
    assert (
        first.prices.created
        == Price.objects.count()
        == first.real_price_rows + first.synthetic_price_rows + first.basket_price_rows
    )
    assert first.fund_holdings.baskets_replaced == len(ref.BASKET_FUNDS)
    assert FundHolding.objects.count() == first.fund_holdings.holdings_created

    second = reference_data_load(end_on=END_ON, synthetic_from=SYNTHETIC_FROM, seed=5)
    assert (second.securities.created, second.securities.updated) == (0, 0)
    assert (second.prices.created, second.prices.updated) == (0, 0)
    assert second.prices.unchanged == Price.objects.count()
    assert second.fund_holdings.baskets_unchanged == len(ref.BASKET_FUNDS)

    quotes = price_map_get(symbols=["AAPL", "MO", "CASH", "RRC"], as_of=date(2022, 12, 28))
    assert quotes["AAPL"].close_price == Decimal("125.674")
    assert not quotes["AAPL"].is_synthetic
    assert quotes["AAPL"].source == ref.SKFOLIO_SOURCE
    assert "MO" not in quotes  # no real prices, and synthetic ones start later

    later = price_map_get(symbols=["AAPL", "MO", "CASH"], as_of=END_ON)
    assert later["AAPL"].is_synthetic
    assert later["AAPL"].source == "synthetic factor model seed=5"
    assert later["MO"].is_synthetic
    assert later["CASH"].close_price == Decimal(1)
    assert not Price.objects.filter(is_synthetic=False, priced_on__gt=date(2022, 12, 28)).exists()
    assert not Price.objects.filter(close_price__lte=0).exists()
    assert not Price.objects.filter(priced_on__week_day__in=(1, 7)).exists()


@pytest.mark.django_db
def test_command_prints_counts_and_time(capsys):
    call_command(
        "load_reference_data", "--synthetic-from", "2023-01-02", "--synthetic-to", "2023-01-03"
    )
    out = capsys.readouterr().out
    assert "securities: 517 (517 created" in out
    assert "demo basket funds: 12 closes" in out
    assert "rows/s" in out
    assert "total" in out


@pytest.mark.django_db
def test_demo_basket_funds_hold_their_documented_baskets_and_are_priced_at_their_value():
    # The window starts before the anchor day, so every holding's anchor close is stored.
    reference_data_load(end_on=date(2023, 1, 4), synthetic_from=date(2022, 12, 27), seed=1)
    on = date(2023, 1, 4)
    baskets = fund_holdings_get(funds=[f.symbol for f in ref.BASKET_FUNDS], as_of=on)
    stocks = Security.objects.filter(kind=SecurityKind.STOCK)
    assert set(baskets["TMKT"]) == set(stocks.values_list("symbol", flat=True))
    assert len(baskets["LCF"]) == 101
    assert {"AAPL", "MSFT", "JPM", "MO"} <= set(baskets["LCF"])
    assert baskets["LCF"] == baskets["LCFMX"]
    assert not set(baskets["LCF"]) & set(baskets["MCF"])
    assert set(baskets["TECF"]) == set(
        stocks.filter(sector="Information Technology").values_list("symbol", flat=True)
    )
    assert {"DUK", "KO", "XOM", "PLD"} <= set(baskets["DIVF"])
    assert "AAPL" not in baskets["DIVF"]
    assert all(sum(weights.values()) <= 1 for weights in baskets.values())
    mutual = Security.objects.get(symbol="LCFMX")
    assert (mutual.kind, mutual.min_holding_days) == (SecurityKind.MUTUAL_FUND, 60)
    assert mutual.tracked_index == Security.objects.get(symbol="LCF").tracked_index
    assert "demo basket, not a real fund" in mutual.name

    anchor = ref.SYNTHETIC_ANCHOR_ON
    for fund in ("LCF", "DIVF"):
        weights = baskets[fund]
        closes = {
            (p.security.symbol, p.priced_on): p.close_price
            for p in Price.objects.filter(
                security__symbol__in=weights, priced_on__in=(anchor, on)
            ).select_related("security")
        }
        value = Decimal(100) * (
            sum(w * closes[s, on] / closes[s, anchor] for s, w in weights.items())
            + (1 - sum(weights.values()))
        )
        price = Price.objects.get(security__symbol=fund, priced_on=on)
        assert abs(price.close_price - value) <= Decimal("0.00005")
        assert price.is_synthetic
        assert price.source == ref.basket_source()
        assert Price.objects.get(security__symbol=fund, priced_on=anchor).close_price == 100
