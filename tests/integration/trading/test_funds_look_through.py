"""Funds in a real run (issue 23): the run's risk model sees a fund through its stored holdings,
and a proposal keeps an overweight fund with a big gain while an overlapping fund stands in,
saying why in its notes."""

from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from apps.accounts.models import Account, Household
from apps.accounts.services.ledger import ledger_rebuild
from apps.models.services import model_assign, model_update
from apps.optimizer import adapters
from apps.optimizer.core.lookthrough import FUND_SECTOR
from apps.securities.models import FundHolding, Price, Security, SecurityKind
from apps.trading.models import RunMode
from apps.trading.services.preview import account_preview
from tests.integration.accounts.conftest import entry
from tests.integration.trading.conftest import AS_OF, SECTORS, model_in_force

LARGE = ("AAA", "BBB", "CCC", "EEE", "FFF", "GGG")  # LCF: six of the eight names
TOTAL = tuple(SECTORS)  # TMF: all eight, so 75% of it is LCF's


def _fund(symbol: str, kind: str, held: tuple[str, ...]) -> None:
    """A fund priced as its basket held at constant weights, with its holdings on file."""
    fund = Security.objects.create(
        symbol=symbol, name=f"{symbol} basket fund", kind=kind, tracked_index=f"{symbol} index"
    )
    weight = Decimal(1) / len(held)
    FundHolding.objects.bulk_create(
        FundHolding(
            fund=fund,
            as_of=date(2023, 12, 31),
            holding=s,
            weight=weight.quantize(Decimal("0.00000001")),
        )
        for s in Security.objects.filter(symbol__in=held)
    )
    rows = Price.objects.filter(security__symbol__in=held).order_by("priced_on", "security_id")
    days = sorted({p.priced_on for p in rows})
    closes = np.array([float(p.close_price) for p in rows]).reshape(len(days), len(held))
    returns = (closes[1:] / closes[:-1] - 1.0).mean(axis=1)
    path = 100.0 * np.concatenate([[1.0], np.cumprod(1.0 + returns)])
    Price.objects.bulk_create(
        Price(security=fund, priced_on=d, close_price=Decimal(f"{p:.4f}"), source="basket")
        for d, p in zip(days, path, strict=True)
    )


@pytest.fixture
def fund_book(priced_universe, firms):
    from apps.access.roles import Role

    _fund("LCF", SecurityKind.ETF, LARGE)
    _fund("TMF", SecurityKind.MUTUAL_FUND, TOTAL)
    admin = firms["a"].users[Role.FIRM_ADMIN]
    model = model_in_force(admin, "FUNDS", {"LCF": Decimal("0.48"), "TMF": Decimal("0.48")})
    model_update(
        model=model, changes={"tracking_error_target_rate": Decimal("0.01")}, acting_user=admin
    )
    household = Household.objects.create(external_id="H-FUND", name="Fund household")
    account = Account.objects.create(
        household=household, custodian="schwab", number="F1", name="Funds", registration="taxable"
    )
    lcf = Price.objects.get(security__symbol="LCF", priced_on=AS_OF).close_price
    tmf = Price.objects.get(security__symbol="TMF", priced_on=AS_OF).close_price
    # LCF bought long ago at a fifth of today's price (a big long-term gain), 70% of value;
    # TMF bought this month, 26%; 4% cash.
    shares_lcf, shares_tmf = int(70_000 / float(lcf)), int(26_000 / float(tmf))
    cost_lcf = (lcf / 5 * shares_lcf).quantize(Decimal("0.01"))
    cost_tmf = (tmf * shares_tmf).quantize(Decimal("0.01"))
    entry(account, "dep", "deposit", date(2015, 1, 2), amount=str(cost_lcf + cost_tmf + 4000))
    entry(account, "b-lcf", "buy", date(2015, 1, 2), "LCF", str(shares_lcf), str(cost_lcf))
    entry(account, "b-tmf", "buy", date(2024, 6, 3), "TMF", str(shares_tmf), str(cost_tmf))
    ledger_rebuild(household=household)
    model_assign(account=account, model=model, acting_user=admin)
    return account


def test_the_run_universe_sees_a_fund_through_its_holdings(fund_book):
    universe = adapters.run_universe_build(symbols=[*TOTAL, "LCF", "TMF"], as_of=AS_OF)
    model = universe.risk_model
    index = universe.index
    assert universe.universe.sectors[index["LCF"]] == FUND_SECTOR
    sigma = model.loadings @ model.factor_covariance @ model.loadings.T + np.diag(
        model.specific_variance
    )
    # LCF's covariance with each stock is the average of its holdings' covariances with it.
    held = [index[s] for s in LARGE]
    for s in TOTAL:
        assert sigma[index["LCF"], index[s]] == pytest.approx(
            sigma[held, index[s]].mean(), rel=1e-6
        )
    vol = np.sqrt(np.diag(sigma))
    assert sigma[index["LCF"], index["TMF"]] / (vol[index["LCF"]] * vol[index["TMF"]]) > 0.8


def test_a_proposal_keeps_the_overweight_fund_and_says_why(fund_book):
    preview = account_preview(account=fund_book, as_of=AS_OF, mode=RunMode.FULL_REBALANCE)
    assert preview.data is not None, preview.problem
    sold_lcf = sum(t.amount for t in preview.data.trades if t.symbol == "LCF" and t.side == "sell")
    assert sold_lcf < Decimal("10000")  # of a 25,000 overweight
    kept = [n for n in preview.data.notes if n.startswith("LCF is kept")]
    assert len(kept) == 1
    assert "correlation with TMF" in kept[0] and "of tax" in kept[0]
