"""Fidelity-like exports (``docs/custodian-files.md``, "Fidelity-like layout"), declared."""

from apps.accounts.layouts.declaration import AsOf, CustodianLayout
from apps.ingest.reading import Column

FIDELITY = CustodianLayout(
    name="fidelity",
    label="Fidelity-like export",
    custodian="fidelity",
    account_number=Column("Account Number", aliases=("Account #",)),
    transactions={
        "trade_date": Column("Run Date", aliases=("Date", "Trade Date")),
        "action": Column("Action"),
        "symbol": Column("Symbol"),
        "shares": Column("Quantity"),
        "amount": Column("Amount ($)", aliases=("Amount",)),
        "settlement_date": Column("Settlement Date", required=False),
    },
    lots={
        "symbol": Column("Symbol"),
        "acquired_date": Column(
            "Date Acquired", aliases=("Acquired", "Acquired Date", "Open Date")
        ),
        "shares": Column("Quantity"),
        "cost_basis": Column("Cost Basis", aliases=("Cost Basis Total", "Cost Basis ($)")),
    },
    positions={
        "symbol": Column("Symbol"),
        "shares": Column("Quantity"),
        "cost_basis": Column("Cost Basis Total", aliases=("Cost Basis",)),
        "cash_value": Column("Current Value", aliases=("Current value",), required=False),
    },
    # Action texts start with a verb phrase followed by the security, e.g.
    # "YOU BOUGHT APPLE INC (AAPL) (Cash)"; the first matching prefix wins.
    actions=(
        ("YOU BOUGHT", "buy"),
        ("YOU SOLD", "sell"),
        ("REINVESTMENT", "buy"),
        ("DIVIDEND RECEIVED", "dividend"),
        ("INTEREST EARNED", "dividend"),
        ("LONG-TERM CAP GAIN", "dividend"),
        ("SHORT-TERM CAP GAIN", "dividend"),
        ("ELECTRONIC FUNDS TRANSFER RECEIVED", "signed"),
        ("ELECTRONIC FUNDS TRANSFER PAID", "signed"),
        ("CASH CONTRIBUTION", "signed"),
        ("DIRECT DEPOSIT", "signed"),
        ("TRANSFERRED FROM", "signed"),
        ("TRANSFERRED TO", "signed"),
        ("JOURNALED", "signed"),
        ("WIRE TRANSFER", "signed"),
        ("DEPOSIT", "signed"),
        ("ADVISORY FEE", "fee"),
        ("FEE CHARGED", "fee"),
        ("FOREIGN TAX PAID", "fee"),
        ("MARGIN INTEREST", "fee"),
        ("PURCHASE INTO CORE ACCOUNT", "sweep"),
        ("REDEMPTION FROM CORE ACCOUNT", "sweep"),
    ),
    action_prefix=True,
    action_id_upper=True,
    # The core (sweep) money-market funds are cash: trades in them are cash moving to cash.
    # Positions files flag them with a trailing "**".
    sweep_symbols=frozenset({"SPAXX", "FDRXX", "FZFXX", "SPRXX", "FCASH", "CORE"}),
    sweep_suffix="**",
    skip_symbols=frozenset({"pending activity"}),
    as_of=AsOf.FOOTER,
)
