"""Trading pages and API: start a run, watch progress, review proposals, bulk decisions, roles."""

import pytest

from apps.access.models import AuditEvent
from apps.access.roles import Role
from apps.trading.models import Proposal, ProposalStatus, RebalanceRun
from apps.trading.services.runs import rebalance_chunk_execute, rebalance_run_start
from tests.conftest import api_client, login_client
from tests.integration.trading.conftest import AS_OF


def _execute(run_id: int) -> None:
    for chunk in rebalance_run_start(run_id=run_id):
        rebalance_chunk_execute(run_id=run_id, chunk=chunk)


def test_trader_starts_a_run_from_the_api_and_it_is_enqueued(
    firms, run_book, django_capture_on_commit_callbacks
):
    client = api_client(firms["a"], Role.TRADER)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/api/v1/runs/",
            {"scope": "model", "scope_ids": [run_book["model"].pk], "as_of": str(AS_OF)},
            format="json",
        )
    assert response.status_code == 202, response.json()
    assert response.json()["progress"]["status"] == "queued"
    assert len(callbacks) == 1  # the start task is sent after commit, not before
    assert AuditEvent.objects.filter(action="rebalance_run.create").count() == 1


def test_viewer_and_advisor_cannot_start_runs(firms, run_book):
    for role in (Role.VIEWER, Role.ADVISOR):
        response = api_client(firms["a"], role).post(
            "/api/v1/runs/", {"scope": "book"}, format="json"
        )
        assert response.status_code == 403
    page = login_client(firms["a"], Role.VIEWER).post(
        "/runs/", {"target": "book", "mode": "full_rebalance", "as_of": str(AS_OF)}
    )
    assert page.status_code == 403
    assert not RebalanceRun.objects.exists()


def test_run_pages_show_progress_proposals_and_reasons(firms, run_book):
    client = login_client(firms["a"], Role.TRADER)
    response = client.post(
        "/runs/", {"target": "book", "mode": "full_rebalance", "as_of": str(AS_OF)}
    )
    run = RebalanceRun.objects.get()
    assert response["Location"] == f"/runs/{run.pk}/"
    _execute(run.pk)
    html = client.get(f"/runs/{run.pk}/").content.decode()
    assert "without cost basis: CCC" in html
    assert "Legacy" in html
    progress = api_client(firms["a"], Role.VIEWER).get(f"/api/v1/runs/{run.pk}/progress/").json()
    assert progress["status"] == "completed"
    assert (progress["done"], progress["skipped"], progress["remaining"]) == (2, 1, 0)
    proposal = Proposal.objects.get(run=run, account=run_book["cash_only"])
    page = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert "fill_underweight" in page
    assert "Approve" in page


def test_bulk_approval_is_all_or_nothing_and_audited(firms, run_book):
    client = api_client(firms["a"], Role.TRADER)
    run = RebalanceRun.objects.create(scope="book", as_of=AS_OF)
    _execute(run.pk)
    pending = list(
        Proposal.objects.filter(run=run, status=ProposalStatus.PENDING_APPROVAL).values_list(
            "pk", flat=True
        )
    )
    assert len(pending) == 2
    viewer = api_client(firms["a"], Role.VIEWER)
    assert (
        viewer.post(
            "/api/v1/proposals/decide/",
            {"proposal_ids": pending, "decision": "approve"},
            format="json",
        ).status_code
        == 403
    )
    response = client.post(
        "/api/v1/proposals/decide/",
        {"proposal_ids": pending, "decision": "approve", "note": "reviewed"},
        format="json",
    )
    assert response.json() == {"decided": 2, "unchanged": 0, "stale": {}}
    retried = client.post(  # a retried call (double click, network retry) changes nothing
        "/api/v1/proposals/decide/", {"proposal_ids": pending, "decision": "approve"}, format="json"
    )
    assert retried.json() == {"decided": 0, "unchanged": 2, "stale": {}}
    again = client.post(
        "/api/v1/proposals/decide/", {"proposal_ids": pending, "decision": "reject"}, format="json"
    )
    assert again.status_code == 400
    assert again.json()["code"] == "proposal_not_pending"
    assert Proposal.objects.filter(status=ProposalStatus.APPROVED).count() == 2
    assert AuditEvent.objects.filter(action="proposal.approve").count() == 2


def test_auto_approve_policy_approves_clean_proposals(firms, run_book):
    from apps.trading.services.review import trading_settings_update

    trading_settings_update(
        changes={"is_auto_approve": True}, acting_user=firms["a"].users[Role.FIRM_ADMIN]
    )
    run = RebalanceRun.objects.create(scope="book", as_of=AS_OF)
    _execute(run.pk)
    for proposal in Proposal.objects.filter(run=run):
        expected = (
            ProposalStatus.APPROVED if not proposal.flags else ProposalStatus.PENDING_APPROVAL
        )
        assert proposal.status == expected


def test_firm_b_cannot_see_firm_a_runs_or_proposals(firms, run_book):
    run = RebalanceRun.objects.create(scope="book", as_of=AS_OF)
    _execute(run.pk)
    proposal = Proposal.objects.filter(run=run).first()
    b = api_client(firms["b"], Role.FIRM_ADMIN)
    assert b.get(f"/api/v1/runs/{run.pk}/").status_code == 404
    assert b.get(f"/api/v1/proposals/{proposal.pk}/").status_code == 404
    assert b.get("/api/v1/runs/").json()["count"] == 0
    assert (
        login_client(firms["b"], Role.FIRM_ADMIN).get(f"/proposals/{proposal.pk}/").status_code
        == 404
    )


@pytest.mark.parametrize("path", ["/api/v1/runs/", "/api/v1/proposals/"])
def test_trading_lists_have_bounded_queries(firms, run_book, django_assert_max_num_queries, path):
    run = RebalanceRun.objects.create(scope="book", as_of=AS_OF)
    _execute(run.pk)
    client = api_client(firms["a"], Role.VIEWER)
    client.get(path)  # the token's first use is recorded (a write at most once a minute)
    # Proposals: count, the page's keys, its rows, their trades (common.pagination).
    with django_assert_max_num_queries(9):
        assert client.get(path).status_code == 200


def test_a_double_click_on_start_run_starts_one_run(firms, run_book):
    import re

    trader = login_client(firms["a"], Role.TRADER)
    page = trader.get("/runs/").content.decode()
    key = re.search(r'name="request_key" value="([0-9a-f]{32})"', page).group(1)
    form = {"target": "book", "mode": "full_rebalance", "as_of": str(AS_OF), "request_key": key}
    first = trader.post("/runs/", form)
    second = trader.post("/runs/", form)  # the same submission again
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert RebalanceRun.objects.count() == 1
    # The back button's resubmission with another choice is refused, not a second run.
    changed = trader.post("/runs/", {**form, "mode": "harvest_only"})
    assert changed.status_code == 400 and "already sent" in changed.content.decode()
    assert RebalanceRun.objects.count() == 1
    # A fresh page has a fresh key: a second run is a deliberate one.
    again = trader.get("/runs/").content.decode()
    assert re.search(r'name="request_key" value="([0-9a-f]{32})"', again).group(1) != key


def test_a_double_click_on_rebalance_selected_starts_one_run(firms, run_book):
    import re

    trader = login_client(firms["a"], Role.TRADER)
    page = trader.get("/scan/").content.decode()
    key = re.search(r'name="request_key" value="([0-9a-f]{32})"', page).group(1)
    ids = [str(run_book["legacy"].pk), str(run_book["cash_only"].pk)]
    form = {"account_ids": ids, "request_key": key}
    first = trader.post("/scan/", form)
    second = trader.post("/scan/", form)
    assert first["Location"] == second["Location"]
    assert RebalanceRun.objects.count() == 1


def test_a_large_book_picks_one_account_by_number_not_from_a_list(
    firms, run_book, monkeypatch, django_capture_on_commit_callbacks
):
    """Above ``ACCOUNT_OPTIONS_MAX`` accounts no form lists them all (seconds at 20,000)."""
    from apps.accounts import selectors
    from apps.reports.models import ReportBatch

    monkeypatch.setattr(selectors, "ACCOUNT_OPTIONS_MAX", 2)
    client = login_client(firms["a"], Role.TRADER)
    for path in ("/runs/", "/reports/"):
        html = client.get(path).content.decode()
        assert f'value="account:{run_book["legacy"].pk}"' not in html
        assert f'<option value="{run_book["legacy"].pk}"' not in html
        assert 'name="account_number"' in html
    unknown = client.post(
        "/runs/",
        {"target": "book", "account_number": "NOPE", "mode": "full_rebalance", "as_of": str(AS_OF)},
    )
    assert "no account (or several) has this number" in unknown.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        client.post(
            "/runs/",
            {
                "target": "book",
                "account_number": "R1",
                "mode": "full_rebalance",
                "as_of": str(AS_OF),
            },
        )
        client.post(
            "/reports/",
            {"kind": "client", "year": AS_OF.year, "as_of": str(AS_OF), "account_number": "R1"},
        )
    run = RebalanceRun.objects.get()
    assert (run.scope, run.scope_ids) == ("account", [run_book["legacy"].pk])
    assert list(ReportBatch.objects.get().account_ids) == [run_book["legacy"].pk]

    monkeypatch.setattr(selectors, "ACCOUNT_OPTIONS_MAX", 1000)  # a short book: by name
    html = client.get("/runs/").content.decode()
    assert f'value="account:{run_book["legacy"].pk}"' in html
    assert 'name="account_number"' not in html
