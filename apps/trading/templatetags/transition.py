"""The account page's transition plan card: the latest proposal that carries a plan."""

from typing import Any

from django import template

from apps.accounts.models import Account
from apps.trading.selectors import latest_transition_plan

register = template.Library()


@register.inclusion_tag("trading/_transition_plan_card.html")
def transition_plan_card(account: Account) -> dict[str, Any]:
    """The account's transition horizon and the plan its latest run followed, if any."""
    found = latest_transition_plan(account_id=account.pk)
    proposal, plan = found if found is not None else (None, None)
    return {"account": account, "proposal": proposal, "plan": plan}
