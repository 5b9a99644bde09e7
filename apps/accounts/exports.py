"""Form 8949-style CSV of an account's realized gains for one tax year."""

import io

from apps.accounts.models import Account, Term
from apps.accounts.selectors import realized_gain_list
from apps.common.csv_out import SafeCsvWriter

# Form 8949 (IRS, "Sales and Other Dispositions of Capital Assets"): Part I short-term, Part II
# long-term; box A/D = basis reported to the IRS (covered securities, our assumption for lots we
# hold). Column (g) carries the wash-sale adjustment as a positive amount with code W in (f).
FORM8949_COLUMNS = (
    "part",
    "box",
    "description",
    "date_acquired",
    "date_sold",
    "proceeds",
    "cost_basis",
    "code",
    "adjustment",
    "gain_or_loss",
)


def form8949_csv(*, account: Account, year: int) -> str:
    """The account's Form 8949 rows for the year as CSV text (amounts in USD, cents)."""
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer)
    writer.writerow(FORM8949_COLUMNS)
    for row in realized_gain_list(account=account, year=year).order_by("term", "sold_on", "pk"):
        short = row.term == Term.SHORT
        writer.writerow(
            (
                "I" if short else "II",
                "A" if short else "D",
                f"{row.shares.normalize():f} sh. {row.symbol}",
                row.acquired_on.strftime("%m/%d/%Y"),
                row.sold_on.strftime("%m/%d/%Y"),
                f"{row.proceeds_amount:.2f}",
                f"{row.basis_amount:.2f}",
                row.form8949_code,
                f"{row.disallowed_amount:.2f}" if row.disallowed_amount else "",
                f"{row.reportable_gain_amount:.2f}",
            )
        )
    return buffer.getvalue()
