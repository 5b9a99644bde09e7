"""The advisor's design loop: settings, preview (nothing stored), submit to the trading desk."""

from apps.access.models import AuditEvent
from apps.access.roles import Role
from apps.trading.models import Proposal, ProposalStatus, RebalanceRun
from tests.conftest import login_client
from tests.integration.trading.conftest import AS_OF


def test_profile_form_saves_cash_needs_with_audit(firms, run_book):
    client = login_client(firms["a"], Role.ADVISOR)
    pk = run_book["cash_only"].pk
    form = client.get(f"/accounts/{pk}/design/").context["profile_form"]
    data = {b.name: b.field.prepare_value(b.value()) for b in form if b.value() is not None}
    data = {k: v for k, v in data.items() if v is not False}  # an unchecked box is not posted
    data.update(
        withdrawal_amount="5000.00",
        withdrawal_frequency="monthly",
        next_withdrawal_on="2024-07-15",
        transition_years="3",
        is_harvesting_enabled="on",
    )
    response = client.post(f"/accounts/{pk}/profile/", data)
    assert response.status_code == 302
    run_book["cash_only"].refresh_from_db()
    assert run_book["cash_only"].withdrawal_amount == 5000
    assert run_book["cash_only"].transition_years == 3
    event = AuditEvent.objects.get(action="account.update_profile")
    assert event.payload["withdrawal_frequency"] == {"before": "none", "after": "monthly"}


def test_preview_stores_nothing_and_submit_sends_a_proposal(firms, run_book):
    client = login_client(firms["a"], Role.ADVISOR)
    pk = run_book["legacy"].pk
    page = client.get(f"/accounts/{pk}/preview/?as_of={AS_OF}")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Proposed trades" in html
    assert "Submit for review" in html
    assert not RebalanceRun.objects.exists()
    response = client.post(f"/accounts/{pk}/preview/submit/", {"as_of": str(AS_OF)})
    proposal = Proposal.objects.get(account=run_book["legacy"])
    assert response["Location"] == f"/proposals/{proposal.pk}/"
    assert proposal.status == ProposalStatus.PENDING_APPROVAL
    assert proposal.run.requested_by_name == "advisor@firm-a.test"


def test_preview_explains_a_skipped_account(firms, run_book):
    client = login_client(firms["a"], Role.ADVISOR)
    html = client.get(f"/accounts/{run_book['no_basis'].pk}/preview/?as_of={AS_OF}").content
    assert b"without cost basis: CCC" in html


def test_viewer_and_trader_cannot_preview_or_submit(firms, run_book):
    pk = run_book["legacy"].pk
    for role in (Role.VIEWER, Role.TRADER):
        client = login_client(firms["a"], role)
        assert client.get(f"/accounts/{pk}/preview/").status_code == 403
        assert client.post(f"/accounts/{pk}/preview/submit/").status_code == 403
    assert not RebalanceRun.objects.exists()


def test_a_screen_that_matches_nothing_is_explained_in_the_preview_and_the_proposal(
    firms, run_book
):
    """No name of the run book carries the tobacco tag: the screen is honoured with nothing to
    remove, and the preview and the submitted proposal both say so with the run's day."""
    from datetime import date

    from apps.restrictions.services import restriction_add

    admin = firms["a"].users[Role.FIRM_ADMIN]
    restriction_add(
        kind="exclude_esg",
        value="tobacco",
        starts_on=date(2024, 1, 1),
        reason="client values",
        acting_user=admin,
    )
    line = "nothing held or targeted matched &#x27;tobacco&#x27; on 2024-06-28"
    client = login_client(firms["a"], Role.ADVISOR)
    pk = run_book["legacy"].pk
    html = client.get(f"/accounts/{pk}/preview/?as_of={AS_OF}").content.decode()
    assert f"tobacco screen (firm: client values): {line}" in html
    client.post(f"/accounts/{pk}/preview/submit/", {"as_of": str(AS_OF)})
    proposal = Proposal.objects.get(account=run_book["legacy"])
    assert (
        "tobacco screen (firm: client values): nothing held or targeted matched 'tobacco' on "
        "2024-06-28"
    ) in proposal.summary.splitlines()
