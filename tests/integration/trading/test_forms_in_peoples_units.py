"""Forms in people's units (#19 item 5): percent, separators, names, plain errors, input kept."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from apps.access.roles import Role
from apps.trading.models import RebalanceRun, RunScope, TradingSettings
from tests.conftest import login_client
from tests.integration.trading.conftest import AS_OF

LEAKS = ("Constraint", "violated", "Traceback", "Decimal(", "0E-", "returns per name")
# The firm's today (New York) the day after the run book's last prices.
TODAY = AS_OF + timedelta(days=1)
NOON = datetime(TODAY.year, TODAY.month, TODAY.day, 16, tzinfo=UTC)


def _no_leak(html: str) -> None:
    for leak in LEAKS:
        assert leak not in html, leak


def _shown(form) -> dict[str, str]:
    """What the page shows in each box of an unbound form (what a person would post back)."""
    data = {}
    for bound in form:
        value = bound.field.prepare_value(bound.value())
        if isinstance(value, bool):
            if value:
                data[bound.name] = "on"
            continue
        data[bound.name] = "" if value is None else str(value)
    return data


@pytest.fixture
def advisor(firms, run_book):
    with time_machine.travel(NOON, tick=False):
        yield login_client(firms["a"], Role.ADVISOR)


def test_rates_are_shown_and_typed_in_percent(advisor, run_book):
    account = run_book["legacy"]
    page = advisor.get(f"/accounts/{account.pk}/design/")
    html = page.content.decode()
    assert 'name="short_term_rate" value="37"' in html
    assert 'name="state_rate" value="0"' in html
    assert 'name="fee_rate" value="0.75"' in html
    assert 'name="min_trade_amount" value="100.00"' in html
    _no_leak(html)
    data = _shown(page.context["profile_form"])
    data.update(short_term_rate="40.8", state_rate="5", withdrawal_amount="12,500")
    assert advisor.post(f"/accounts/{account.pk}/profile/", data).status_code == 302
    account.refresh_from_db()
    assert account.short_term_rate == Decimal("0.408")
    assert account.state_rate == Decimal("0.05")
    assert account.long_term_rate == Decimal("0.20")  # posted back as shown: unchanged
    assert account.withdrawal_amount == Decimal("12500")
    assert (
        'name="withdrawal_amount" value="12,500.00"'
        in advisor.get(f"/accounts/{account.pk}/design/").content.decode()
    )


def test_every_profile_field_has_a_human_label_and_help(advisor, run_book):
    page = advisor.get(f"/accounts/{run_book['legacy'].pk}/design/")
    html = page.content.decode()
    assert "Fractional shares allowed" in html
    for generated in ("Is fractional shares", "Is harvesting enabled", "Short term rate"):
        assert generated not in html
    for bound in page.context["profile_form"]:
        assert bound.help_text, bound.name


def test_a_bad_profile_is_refused_in_plain_words_and_the_input_is_kept(advisor, run_book):
    account = run_book["legacy"]
    data = _shown(advisor.get(f"/accounts/{account.pk}/design/").context["profile_form"])
    data.update(
        withdrawal_amount="-5",
        cash_reserve_amount="-1",
        withdrawal_frequency="monthly",
        short_term_rate="37.5",
    )
    response = advisor.post(f"/accounts/{account.pk}/profile/", data)
    assert response.status_code == 400
    html = response.content.decode()
    _no_leak(html)
    assert 'name="withdrawal_amount" value="-5"' in html  # kept as typed
    assert 'name="short_term_rate" value="37.5"' in html
    assert "not negative" in html or "greater than or equal to 0" in html
    account.refresh_from_db()
    assert account.withdrawal_amount == 0 and account.short_term_rate == Decimal("0.37")


def test_a_schedule_without_a_date_says_what_to_give(advisor, run_book):
    account = run_book["legacy"]
    data = _shown(advisor.get(f"/accounts/{account.pk}/design/").context["profile_form"])
    data.update(withdrawal_amount="1,000", withdrawal_frequency="monthly", next_withdrawal_on="")
    html = advisor.post(f"/accounts/{account.pk}/profile/", data).content.decode()
    assert "pick the next withdrawal date" in html
    _no_leak(html)


def test_trading_thresholds_are_percent(firms, db):
    admin = login_client(firms["a"], Role.FIRM_ADMIN)
    html = admin.get("/settings/").content.decode()
    assert 'name="large_tax_rate" value="1"' in html
    response = admin.post(
        "/settings/", {"large_tax_rate": "2", "large_drift_rate": "5", "big_trade_rate": "25"}
    )
    assert response.status_code == 302
    from django_tenants.utils import schema_context

    with schema_context(firms["a"].schema):
        assert TradingSettings.objects.get().large_tax_rate == Decimal("0.02")
    bad = admin.post(
        "/settings/", {"large_tax_rate": "200", "large_drift_rate": "5", "big_trade_rate": "25"}
    )
    assert bad.status_code == 400
    assert "enter a percent from 0 to 100" in bad.content.decode()
    assert 'name="large_tax_rate" value="200"' in bad.content.decode()


def test_runs_are_scoped_by_name(firms, run_book):
    trader = login_client(firms["a"], Role.TRADER)
    account = run_book["legacy"]
    with time_machine.travel(NOON, tick=False):
        html = trader.get("/runs/").content.decode()
        assert f'value="account:{account.pk}">Legacy (schwab R1)</option>' in html
        assert "Run household" in html and "Model CORE8" in html
        response = trader.post(
            "/runs/", {"target": f"account:{account.pk}", "mode": "full_rebalance", "as_of": AS_OF}
        )
    run = RebalanceRun.objects.get()
    assert response["Location"] == f"/runs/{run.pk}/"
    assert (run.scope, run.scope_ids) == (RunScope.ACCOUNT, [account.pk])


def test_a_future_as_of_is_refused_with_what_to_do(firms, run_book):
    trader = login_client(firms["a"], Role.TRADER)
    advisor = login_client(firms["a"], Role.ADVISOR)
    future = TODAY + timedelta(days=30)
    with time_machine.travel(NOON, tick=False):
        data = {"target": "book", "mode": "full_rebalance", "as_of": future}
        response = trader.post("/runs/", data)
        html = response.content.decode()
        assert response.status_code == 400
        assert "is in the future" in html and f"pick {TODAY} or earlier" in html
        assert f'value="{future}"' in html  # kept
        preview = advisor.get(f"/accounts/{run_book['legacy'].pk}/preview/?as_of={future}")
    html = preview.content.decode()
    assert "is in the future" in html
    _no_leak(html)
    assert not RebalanceRun.objects.exists()


def test_reports_choose_the_account_by_name(firms, run_book):
    admin = login_client(firms["a"], Role.FIRM_ADMIN)
    html = admin.get("/reports/").content.decode()
    assert f'<option value="{run_book["legacy"].pk}">Legacy (schwab R1)</option>' in html
    assert 'type="date"' in html


BAD = {"": "", "neg": "-5", "huge": "9" * 30, "text": "abc", "exp": "1E+400", "pct": "150%"}


def _bad_posts(run_book) -> list[tuple[Role, str, dict[str, str]]]:
    pk = run_book["legacy"].pk
    posts = []
    for bad in BAD.values():
        posts += [
            (
                Role.ADVISOR,
                f"/accounts/{pk}/profile/",
                {
                    "withdrawal_amount": bad,
                    "withdrawal_frequency": "monthly",
                    "cash_reserve_amount": bad,
                    "short_term_rate": bad,
                    "state_rate": bad,
                    "min_trade_amount": bad,
                    "transition_years": bad,
                    "next_withdrawal_on": bad,
                },
            ),
            (
                Role.ADVISOR,
                f"/accounts/{pk}/design/restrictions/",
                {"kind": "never_buy", "value": bad, "starts_on": bad, "ends_on": bad},
            ),
            (
                Role.ADVISOR,
                f"/accounts/{pk}/design/outside/",
                {"scope": "account", "exposure_key": "AAA", "amount": bad, "weight": bad},
            ),
            (Role.TRADER, "/runs/", {"target": bad, "mode": "full_rebalance", "as_of": bad}),
            (
                Role.FIRM_ADMIN,
                "/settings/",
                {"large_tax_rate": bad, "large_drift_rate": bad, "big_trade_rate": bad},
            ),
            (Role.FIRM_ADMIN, "/reports/", {"kind": "client", "year": bad, "as_of": bad}),
            (Role.FIRM_ADMIN, "/restrictions/add/", {"kind": "never_buy", "value": bad}),
            (Role.FIRM_ADMIN, "/restrictions/substitutes/", {"symbol": bad, "alternatives": bad}),
            (Role.FIRM_ADMIN, "/settings/branding/", {"primary_colour": bad}),
            (Role.FIRM_ADMIN, "/models/", {"code": bad, "name": bad, "fee_bps": bad}),
            (Role.FIRM_ADMIN, "/users/", {"email": bad, "password": bad, "role": bad}),
        ]
    return posts


def test_bad_input_to_every_form_is_answered_in_plain_words(firms, run_book):
    roles = (Role.ADVISOR, Role.TRADER, Role.FIRM_ADMIN)
    clients = {role: login_client(firms["a"], role) for role in roles}
    tried = 0
    for role, url, data in _bad_posts(run_book):
        response = clients[role].post(url, data, follow=True)
        assert response.status_code < 500, (url, data)
        html = response.content.decode()
        for leak in LEAKS:
            assert leak not in html, (url, data, leak)
        tried += 1
    assert tried == len(BAD) * 11
