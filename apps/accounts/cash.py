"""Cash needs of an account: scheduled withdrawals falling due."""

from datetime import date, timedelta
from decimal import Decimal

from apps.accounts.models import Account, WithdrawalFrequency
from apps.common.money import ZERO
from apps.taxlots.rules import add_months

_FREQUENCY_MONTHS = {
    WithdrawalFrequency.MONTHLY: 1,
    WithdrawalFrequency.QUARTERLY: 3,
    WithdrawalFrequency.ANNUALLY: 12,
}


def withdrawals_due(*, account: Account, as_of: date, horizon_days: int) -> Decimal:
    """Scheduled withdrawals falling within ``horizon_days`` of ``as_of`` (USD).

    The schedule repeats every 1, 3 or 12 calendar months from ``next_withdrawal_on`` (month
    ends clamp, as in ``apps.taxlots.rules.add_months``).
    """
    months = _FREQUENCY_MONTHS.get(WithdrawalFrequency(account.withdrawal_frequency))
    if months is None or account.next_withdrawal_on is None:
        return ZERO
    end = as_of + timedelta(days=horizon_days)
    due, total, step = account.next_withdrawal_on, ZERO, 0
    while due <= end:
        total += account.withdrawal_amount
        step += 1
        due = add_months(account.next_withdrawal_on, months * step)
    return total
