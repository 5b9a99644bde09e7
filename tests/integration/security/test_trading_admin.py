"""Trading and report rows in the firm admin (#19 item 6): listed, searchable, filterable,
read-only (they change only through services)."""

from typing import Any

import pytest

from apps.access.roles import Role
from tests.conftest import login_client

READ_ONLY = (
    "trading.rebalancerun",
    "trading.runaccount",
    "trading.runchunk",
    "trading.proposal",
    "trading.proposedtrade",
    "trading.order",
    "trading.orderallocation",
    "trading.tradefile",
    "trading.fillimport",
    "trading.dailyscan",
    "trading.scanitem",
    "reports.reportbatch",
    "reports.reportfile",
)


@pytest.mark.parametrize("kind", READ_ONLY)
def test_each_row_is_listed_searchable_and_read_only(kind: str, seed: Any, firms: Any) -> None:
    client = login_client(firms["a"], Role.FIRM_ADMIN)
    base = "/admin/{}/{}/".format(*kind.split("."))
    pk = seed.ids[kind]
    listing = client.get(base)
    assert listing.status_code == 200
    assert f"{base}{pk}/change/" in listing.content.decode()
    assert client.get(base, {"q": "no such thing"}).status_code == 200
    view = client.get(f"{base}{pk}/change/")
    assert view.status_code == 200
    assert 'name="_save"' not in view.content.decode()  # viewed, never saved
    assert client.get(f"{base}add/").status_code == 403
    assert client.post(f"{base}{pk}/change/", {}).status_code == 403
    assert client.post(f"{base}{pk}/delete/", {"post": "yes"}).status_code == 403


def test_search_and_filters_find_a_proposal_by_account(seed: Any, firms: Any) -> None:
    from apps.trading.models import Proposal

    proposal = Proposal.objects.select_related("account").get(pk=seed.ids["trading.proposal"])
    client = login_client(firms["a"], Role.FIRM_ADMIN)
    query = {"q": proposal.account.number, "status__exact": proposal.status}
    found = client.get("/admin/trading/proposal/", query).content.decode()
    assert f"/admin/trading/proposal/{proposal.pk}/change/" in found
    assert "0 proposals" not in found
