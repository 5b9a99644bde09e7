"""reference_data_load: the universe, real and synthetic prices, idempotent."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from apps.securities import reference_data as ref
from apps.securities.models import Price, Security
from apps.securities.selectors import price_map_get
from apps.securities.services.reference import reference_data_load

END_ON = date(2023, 1, 10)
SYNTHETIC_FROM = date(2023, 1, 2)


@pytest.mark.django_db
def test_load_is_complete_labelled_and_idempotent():
    first = reference_data_load(end_on=END_ON, synthetic_from=SYNTHETIC_FROM, seed=5)
    assert first.securities.created == Security.objects.count() == 511
    assert first.real_price_rows == 20 * 8313
    # 2022-12-29..2023-01-10 for the 20 real names (9 business days); 2023-01-02..01-10 for the
    # other 491 securities (7 business days).
    assert first.synthetic_price_rows == 20 * 9 + 491 * 7
    assert (
        first.prices.created
        == Price.objects.count()
        == first.real_price_rows + first.synthetic_price_rows
    )

    second = reference_data_load(end_on=END_ON, synthetic_from=SYNTHETIC_FROM, seed=5)
    assert (second.securities.created, second.securities.updated) == (0, 0)
    assert (second.prices.created, second.prices.updated) == (0, 0)
    assert second.prices.unchanged == Price.objects.count()

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
    assert "securities: 511 (511 created" in out
    assert "rows/s" in out
    assert "total" in out
