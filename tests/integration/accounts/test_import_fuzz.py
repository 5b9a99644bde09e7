"""Generated custodian files (hypothesis): a clean apply or a report, never a crash or half a write.

Every example runs in its own savepoint (rolled back), so examples do not see each other.
"""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from apps.access.models import AuditEvent
from apps.accounts.models import Account, Household, RealizedGain, TaxLot, Transaction
from apps.accounts.services.imports import custodian_file_import
from apps.ingest.problems import FileRejectedError
from apps.securities.models import Security

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

accounts = st.sampled_from(["111", "222", "999", "", " 111", "1" * 70])
custodians = st.sampled_from(["schwab", "SCHWAB", "fidelity", "", "other"])
symbols = st.sampled_from(["AAPL", "MSFT", "KO", "ZZZZ", "", "aapl", "SPY 03/31/2020 284.00 P"])
iso_dates = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(["2023-02-30", "2023-13-01", "01/05/2023", "", "yesterday", "2023-1-5"]),
)
us_dates = st.one_of(
    st.dates().map(lambda d: d.strftime("%m/%d/%Y")),
    st.sampled_from(["02/30/2023", "2023-01-05", "", "01/06/2023 as of 01/05/2023", "13/01/2023"]),
)
numbers = st.one_of(
    st.decimals(min_value=Decimal("-1000"), max_value=Decimal("100000"), places=2).map(str),
    st.integers(min_value=-5, max_value=50).map(str),
    st.sampled_from(
        ["", "0", "1e5", "NaN", "Infinity", "-inf", "9" * 40, "0.0000001", "1,000", "$12.00"]
    ),
    st.sampled_from(["12345678901234567.89", "99999999999999.999999", "1" * 19, ".5", "5."]),
)
custodian_numbers = st.one_of(
    numbers,
    st.sampled_from(["-$1,234.56", "$1,234.56", "($12.00)", "--", "+$1.25", "$-3", "$"]),
)
kinds = st.sampled_from(["buy", "sell", "deposit", "withdrawal", "dividend", "fee", "transfer", ""])
external_ids = st.sampled_from(["e1", "e2", "e3", "e4", "lot:x", "", "has space"])
lot_ids = st.sampled_from(["", "e1:1", "e1:5;e2:1", "bad", ":3", "e1:-1", "e9:1"])
junk_text = st.text(max_size=12)


def _csv(rows):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


@st.composite
def damaged(draw, text, *, rarely=False):
    """Encode and maybe damage a file: other encodings, CRLF, cut or doubled lines, junk."""
    if rarely and draw(st.integers(0, 3)):
        return text.replace("\n", draw(st.sampled_from(["\n", "\r\n"]))).encode()
    lines = text.split("\n")
    if lines and draw(st.booleans()):
        index = draw(st.integers(0, len(lines) - 1))
        cut = draw(st.integers(0, max(len(lines[index]) - 1, 0)))
        lines[index] = lines[index][:cut]  # a truncated line
    if lines and draw(st.booleans()):
        index = draw(st.integers(0, len(lines) - 1))
        lines.insert(index, lines[index])  # a duplicated line (duplicate ids)
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), draw(junk_text))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = newline.join(lines)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-8", "latin-1", "utf-16", "cp1252"]))
    content = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 9)) == 0:
        content += draw(st.binary(min_size=1, max_size=8))
    return content


@st.composite
def generic_transactions(draw):
    header = ["account_number", "custodian", "external_id", "trade_date", "kind", "symbol"]
    header += ["shares", "amount", "lot_method", "lot_ids"]
    rows = [header]
    rows += [
        [
            draw(accounts),
            draw(custodians),
            draw(external_ids),
            draw(iso_dates),
            draw(kinds),
            draw(symbols),
            draw(numbers),
            draw(numbers),
            draw(st.sampled_from(["", "FIFO", "hifo", "AVG"])),
            draw(lot_ids),
        ]
        for _ in range(draw(st.integers(0, 6)))
    ]
    return draw(damaged(_csv(rows)))


@st.composite
def plausible_transactions(draw):
    """Mostly valid histories (deposits, buys, sells that may oversell), rarely damaged."""
    rows = [["account_number", "custodian", "external_id", "trade_date", "kind", "symbol"]]
    rows[0] += ["shares", "amount", "lot_method", "lot_ids"]
    day = 1
    for index in range(draw(st.integers(1, 8))):
        day += draw(st.integers(0, 20))
        on = f"2023-{1 + day // 28 % 12:02d}-{1 + day % 28:02d}"
        kind = draw(st.sampled_from(["deposit", "buy", "sell", "dividend", "fee"]))
        symbol = draw(st.sampled_from(["AAPL", "MSFT"])) if kind in ("buy", "sell") else ""
        shares = str(draw(st.integers(1, 8))) if kind in ("buy", "sell") else ""
        amount = str(draw(st.decimals(min_value=0, max_value=5000, places=2)))
        ext = draw(st.sampled_from([f"t{index}", f"t{index}", "t0"]))
        account = draw(st.sampled_from(["111", "111", "222"]))
        rows.append([account, "schwab", ext, on, kind, symbol, shares, amount, "", ""])
    return draw(damaged(_csv(rows), rarely=True))


@st.composite
def generic_lots(draw):
    rows = [
        [
            "account_number",
            "custodian",
            "lot_id",
            "symbol",
            "shares",
            "cost_basis",
            "acquired_date",
            "holding_period_start",
            "wash_adjustment",
        ]
    ]
    rows += [
        [
            draw(accounts),
            draw(custodians),
            draw(external_ids),
            draw(symbols),
            draw(numbers),
            draw(numbers),
            draw(iso_dates),
            draw(st.one_of(st.just(""), iso_dates)),
            draw(st.one_of(st.just(""), numbers)),
        ]
        for _ in range(draw(st.integers(0, 6)))
    ]
    return draw(damaged(_csv(rows)))


@st.composite
def generic_positions(draw):
    rows = [["account_number", "custodian", "symbol", "shares", "cost_basis"]]
    for _ in range(draw(st.integers(0, 6))):
        symbol = draw(st.one_of(symbols, st.just("CASH")))
        rows.append([draw(accounts), draw(custodians), symbol, draw(numbers), draw(numbers)])
    return draw(damaged(_csv(rows)))


@st.composite
def generic_accounts(draw):
    rows = [
        [
            "household_id",
            "household_name",
            "account_number",
            "custodian",
            "name",
            "registration",
            "short_term_rate",
            "is_harvesting_enabled",
            "carryforward_year",
        ]
    ]
    rows += [
        [
            draw(st.sampled_from(["H1", "H2", ""])),
            draw(st.sampled_from(["Smith family", "Other", ""])),
            draw(st.sampled_from(["111", "333", "444", ""])),
            draw(custodians),
            draw(st.sampled_from(["Joint", "", "x" * 300])),
            draw(st.sampled_from(["taxable", "roth_ira", "traditional_ira", "401k"])),
            draw(st.sampled_from(["", "0.3", "1.5", "-0.1", "abc", "0.123456789"])),
            draw(st.sampled_from(["", "yes", "no", "maybe"])),
            draw(st.sampled_from(["", "2023", "99999", "-1"])),
        ]
        for _ in range(draw(st.integers(0, 5)))
    ]
    return draw(damaged(_csv(rows)))


@st.composite
def schwab_transactions(draw):
    actions = ["Buy", "Sell", "Journal", "Qualified Dividend", "Service Fee", "Expired", ""]
    rows = [['"Transactions for account XXXX-1111 as of 10/01/2023"'], []]
    rows.append(["Account Number", "Date", "Action", "Symbol", "Description", "Quantity"])
    rows[-1] += ["Price", "Fees & Comm", "Amount", ""]
    rows += [
        [
            draw(accounts),
            draw(us_dates),
            draw(st.sampled_from(actions)),
            draw(symbols),
            draw(junk_text),
            draw(custodian_numbers),
            draw(custodian_numbers),
            "",
            draw(custodian_numbers),
            "",
        ]
        for _ in range(draw(st.integers(0, 6)))
    ]
    if draw(st.booleans()):
        rows.append(["Transactions Total", "", "", "", "", "", "", "", "$0.00"])
    return draw(damaged(_csv(rows)))


@st.composite
def fidelity_transactions(draw):
    actions = [
        "YOU BOUGHT APPLE INC (AAPL) (Cash)",
        "YOU SOLD APPLE INC (AAPL) (Cash)",
        "DIVIDEND RECEIVED (Cash)",
        "REINVESTMENT SPAXX (Cash)",
        "Electronic Funds Transfer Received (Cash)",
        "FEE CHARGED",
        "SHORT SALE",
    ]
    rows = [
        ["Run Date", "Account Number", "Action", "Symbol", "Quantity", "Amount ($)"],
    ]
    rows += [
        [
            draw(us_dates),
            draw(accounts),
            draw(st.sampled_from(actions)),
            draw(st.one_of(symbols, st.just("SPAXX"))),
            draw(custodian_numbers),
            draw(custodian_numbers),
        ]
        for _ in range(draw(st.integers(0, 6)))
    ]
    rows += [[], ['"Date downloaded Oct-01-2023 8:24 p.m ET"']]
    return draw(damaged(_csv(rows)))


@st.composite
def schwab_positions(draw):
    rows = [['"Positions for account XXXX as of 02:45 AM ET, 09/25/2020"'], []]
    rows.append(["Account Number", "Symbol", "Quantity", "Market Value", "Cost Basis"])
    for _ in range(draw(st.integers(0, 5))):
        symbol = draw(st.one_of(symbols, st.just("Cash & Cash Investments")))
        rows.append(
            [
                draw(accounts),
                symbol,
                draw(custodian_numbers),
                draw(custodian_numbers),
                draw(custodian_numbers),
            ]
        )
    return draw(damaged(_csv(rows)))


@pytest.fixture
def fuzz_books(firm_a):
    for symbol in ("AAPL", "MSFT", "KO"):
        Security.objects.get_or_create(symbol=symbol, defaults={"name": f"{symbol} Inc"})
    household = Household.objects.create(external_id="H1", name="Smith family")
    for custodian, number, registration in (
        ("schwab", "111", "taxable"),
        ("schwab", "222", "traditional_ira"),
        ("fidelity", "111", "taxable"),
    ):
        Account.objects.create(
            household=household,
            custodian=custodian,
            number=number,
            name=number,
            registration=registration,
        )
    # Something to sell and a history to keep consistent.
    Transaction.objects.create(
        account=Account.objects.get(custodian="schwab", number="111"),
        external_id="seed",
        kind="buy",
        trade_on="2020-01-02",
        symbol="AAPL",
        shares=Decimal("10"),
        amount=Decimal("1000"),
    )
    return household


def _counts():
    return (
        Transaction.objects.count(),
        TaxLot.objects.count(),
        RealizedGain.objects.count(),
        Account.objects.count(),
        Household.objects.count(),
        AuditEvent.objects.filter(action__startswith="custodian_import").count(),
    )


def _check(kind, layout, content):
    """The property: a clean apply (counts match the report) or a report; never a crash."""
    # Line breaks as the parser counts them: CRLF, LF and a lone CR each end a line ("\n\r" is two).
    lines = content.count(b"\n") + content.count(b"\r") - content.count(b"\r\n") + 1
    with transaction.atomic():
        before = _counts()
        try:
            report = custodian_file_import(
                kind=kind,
                layout=layout,
                content=content,
                filename="fuzz.csv",
                acting_user=None,
                as_of=date(2024, 1, 2),
            )
        except FileRejectedError as exc:
            problems = exc.report.problems
            event("rejected")
            assert problems
            assert all(0 <= p.line <= lines and p.field and p.reason for p in problems)
            assert _counts() == before  # nothing written, not even an audit row
        else:
            after = _counts()
            event("applied" if report.created or report.updated else "applied: nothing new")
            assert report.is_applied
            assert after[5] == before[5] + 1  # one audit row (apply or noop)
            if kind == "accounts":
                assert (after[3] - before[3]) + (after[4] - before[4]) == report.created
            else:
                assert after[0] - before[0] == report.created
        transaction.set_rollback(True)


@FUZZ
@given(content=generic_transactions())
def test_generic_transactions(fuzz_books, content):
    _check("transactions", "generic", content)


@FUZZ
@given(content=plausible_transactions())
def test_plausible_generic_transactions(fuzz_books, content):
    _check("transactions", "generic", content)


@FUZZ
@given(content=generic_lots())
def test_generic_lots(fuzz_books, content):
    _check("lots", "generic", content)


@FUZZ
@given(content=generic_positions())
def test_generic_positions(fuzz_books, content):
    _check("positions", "generic", content)


@FUZZ
@given(content=generic_accounts())
def test_generic_accounts(fuzz_books, content):
    _check("accounts", "generic", content)


@FUZZ
@given(content=schwab_transactions())
def test_schwab_transactions(fuzz_books, content):
    _check("transactions", "schwab", content)


@FUZZ
@given(content=fidelity_transactions())
def test_fidelity_transactions(fuzz_books, content):
    _check("transactions", "fidelity", content)


@FUZZ
@given(content=schwab_positions())
def test_schwab_positions(fuzz_books, content):
    _check("positions", "schwab", content)


@FUZZ
@given(content=st.binary(max_size=300), kind=st.sampled_from(["transactions", "lots", "positions"]))
def test_arbitrary_bytes(fuzz_books, content, kind):
    _check(kind, "generic", content)
