from datetime import date
from decimal import Decimal

import pytest

OIL = "Oil, Gas & Consumable Fuels"
UNIVERSE = (
    # symbol, sector, industry, ESG tags, close
    ("XOM", "Energy", OIL, ["fossil_fuels"], "110"),
    ("CVX", "Energy", OIL, ["fossil_fuels"], "150"),
    ("COP", "Energy", OIL, [], "100"),
    ("AAPL", "Information Technology", "Technology Hardware, Storage & Peripherals", [], "200"),
    ("MSFT", "Information Technology", "Software", [], "400"),
    ("INTC", "Information Technology", "Semiconductors", [], "40"),
    ("PM", "Consumer Staples", "Tobacco", ["tobacco"], "100"),
    ("KO", "Consumer Staples", "Beverages", [], "60"),
    ("PEP", "Consumer Staples", "Beverages", [], "170"),
    ("PLD", "Real Estate", "Industrial REITs", [], "120"),
    ("BND", "", "", [], "72"),
)
PRICED_ON = date(2024, 6, 28)


def make_universe() -> None:
    """The securities (public schema, rolled back with the test) and one close each."""
    from apps.securities.models import Price, Security

    for symbol, sector, industry, tags, close in UNIVERSE:
        security = Security.objects.create(
            symbol=symbol, name=symbol, sector=sector, industry=industry, esg_tags=tags
        )
        Price.objects.create(
            security=security, priced_on=PRICED_ON, close_price=Decimal(close), source="test"
        )


@pytest.fixture
def universe(firm_a):
    make_universe()
    return firm_a


def weights(**values: str) -> dict[str, Decimal]:
    return {symbol: Decimal(value) for symbol, value in values.items()}
