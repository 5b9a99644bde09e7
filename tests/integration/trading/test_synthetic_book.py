"""The synthetic book looks like a real book: spread values, whole shares, lot histories."""

from decimal import Decimal
from statistics import median

from django.db import transaction

from apps.accounts.holdings import holdings_get
from apps.accounts.models import Account, TaxLot
from apps.trading.services.synthetic_book import VALUE_RANGE, synthetic_book_create
from tests.integration.trading.conftest import AS_OF, _worker_prices_seed


def _book_fingerprint() -> list[tuple]:
    return list(
        TaxLot.objects.order_by("account__number", "symbol", "acquired_on", "lot_key").values_list(
            "account__number", "symbol", "acquired_on", "shares", "adjusted_basis_amount"
        )
    )


def test_synthetic_book_values_shares_and_lots_are_credible(firm_a):
    _worker_prices_seed()
    with transaction.atomic():
        synthetic_book_create(households=40, names=10, as_of=AS_OF, seed=3)
        first = _book_fingerprint()
        transaction.set_rollback(True)
    synthetic_book_create(households=40, names=10, as_of=AS_OF, seed=3)
    assert _book_fingerprint() == first  # seeded: the demo is reproducible

    accounts = list(Account.objects.order_by("pk"))
    values = [holdings_get(account=a, as_of=AS_OF).total_value for a in accounts]
    low, high = VALUE_RANGE
    # Whole-share rounding and the cash slice keep a value within 2% below its draw.
    assert min(values) >= Decimal(str(low)) * Decimal("0.98")
    assert max(values) <= Decimal(str(high))
    assert Decimal(200_000) <= median(values) <= Decimal(800_000)
    assert max(values) / min(values) > 5  # spread like a book, not 50 copies of one account

    whole = [a for a in accounts if not a.is_fractional_shares]
    fractional = [a for a in accounts if a.is_fractional_shares]
    assert whole
    assert fractional
    lots = list(TaxLot.objects.filter(shares__gt=0))
    assert all(lot.shares == lot.shares.to_integral_value() for lot in lots if lot.account in whole)
    assert any(
        lot.shares != lot.shares.to_integral_value() for lot in lots if lot.account in fractional
    )

    dates_per_account = [
        len({lot.acquired_on for lot in lots if lot.account_id == a.pk}) for a in accounts
    ]
    assert median(dates_per_account) >= 3  # several purchases over the years
    ages = [(AS_OF - lot.acquired_on).days for lot in lots]
    assert min(ages) < 365 < max(ages)
    assert max(ages) > 5 * 365
    views = [v for a in accounts for v in holdings_get(account=a, as_of=AS_OF).lots]
    assert any(v.unrealized < 0 for v in views)  # some lots at a loss
    assert any(v.unrealized > 0 and v.is_long_term for v in views)  # some long-term gains
