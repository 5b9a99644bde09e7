"""The client PDF of a demo-like account (50 names, synthetic prices): full pages, marked prices."""

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from apps.access.roles import Role
from apps.accounts.models import Account
from apps.reports.services.client import report_render_client
from apps.securities.models import Price, Security
from apps.securities.templatetags.prices import SYNTHETIC_NOTE
from apps.trading.services.synthetic_book import synthetic_book_create
from tests.conftest import login_client
from tests.integration.reports.conftest import pdf_pages, save_pages

AS_OF = date(2024, 6, 28)
SECTORS = ("Energy", "Utilities", "Materials", "Financials", "Health Care", "Industrials")
MIN_LINES = 25  # of text on every page but the cover and the last (a full page has about 60)


@pytest.fixture
def demo_like_account(firm_a) -> Account:
    """A synthetic book of 2 households on a 50-name model priced by synthetic closes only."""
    rng = np.random.default_rng(5)
    days = [
        AS_OF - timedelta(days=d) for d in range(300) if (AS_OF - timedelta(days=d)).weekday() < 5
    ]
    for i in range(50):
        security = Security.objects.create(
            symbol=f"DM{i:02d}", name=f"Demo Industries {i:02d} Inc.", sector=SECTORS[i % 6]
        )
        path = 80 * np.exp(np.cumsum(rng.normal(0, 0.015, len(days))))
        Price.objects.bulk_create(
            Price(
                security=security,
                priced_on=d,
                close_price=Decimal(f"{p:.2f}"),
                is_synthetic=True,
                source="synthetic factor model seed=0",
            )
            for d, p in zip(days, path, strict=True)
        )
    synthetic_book_create(households=2, names=50, as_of=AS_OF, seed=1)
    return Account.objects.filter(registration="taxable").order_by("pk").first()


def test_client_report_pages_are_filled_and_synthetic_prices_marked(demo_like_account, tmp_path):
    pdf = report_render_client(account=demo_like_account, year=AS_OF.year, as_of=AS_OF)
    pages = [page for page in pdf_pages(pdf.content, tmp_path) if page.strip()]
    save_pages(pdf.content, "client-demo-book")
    lines = [len([line for line in page.splitlines() if line.strip()]) for page in pages]
    assert all(count >= MIN_LINES for count in lines[1:-1]), lines
    text = " ".join(" ".join(pages).split())
    assert SYNTHETIC_NOTE in text
    assert text.count("synthetic") > 50  # each holding and lot row carries the marker


def test_account_page_marks_synthetic_prices(demo_like_account, firms):
    page = login_client(firms["a"], Role.VIEWER).get(f"/accounts/{demo_like_account.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert SYNTHETIC_NOTE in html
    assert html.count('class="synthetic"') > 50  # positions and lots
    Price.objects.filter(security__symbol__startswith="DM").update(is_synthetic=False)
    html = login_client(firms["a"], Role.VIEWER).get(f"/accounts/{demo_like_account.pk}/")
    assert 'class="synthetic"' not in html.content.decode()
