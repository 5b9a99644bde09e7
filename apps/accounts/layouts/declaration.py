"""What a custodian layout declares: its columns per kind of file and how its rows read.

A layout is data, not code: ``services.import_layouts`` reads every custodian export with the
same functions, driven by these fields. Our own layout (``generic``) has ``custodian=""``: its
rows name their custodian in a column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from apps.ingest.reading import Column, Header, Layout, norm

_OUR_ACCOUNT_NUMBER = Column("account_number")


class ImportKind(StrEnum):
    """What a file holds."""

    POSITIONS = "positions"
    LOTS = "lots"
    TRANSACTIONS = "transactions"
    ACCOUNTS = "accounts"


class AsOf(StrEnum):
    """Where a custodian's positions export dates its snapshot."""

    NONE = ""
    TITLE = "title"  # a title line above the header: "... as of 02:45 AM ET, 09/25/2020"
    FOOTER = "footer"  # a footer line: "Date downloaded Apr-22-2026 9:29 p.m ET"


@dataclass(frozen=True)
class CustodianLayout:
    """A source's files: our field -> its column per kind, and its action and cash conventions.

    Fields (besides ``account_number``, in every custodian file): ``trade_date``, ``action``,
    ``symbol``, ``shares``, ``amount`` (transactions); ``symbol``, ``acquired_date``,
    ``shares``, ``cost_basis`` (lots); ``symbol``, ``shares``, ``cost_basis``, ``cash_value``
    (positions). A custodian's header is searched for below title lines; ours is the first line.
    ``total_rows``: first cells (normalized) of its total rows, skipped.
    ``actions``: action text -> our kind (``buy``, ``sell``, ``dividend``, ``fee``; ``signed``
    is a cash move whose sign decides deposit or withdrawal; ``sweep`` is skipped), matched on
    the whole text or, with ``action_prefix``, its start (first match in declaration order).
    """

    name: str
    label: str
    custodian: str
    transactions: Mapping[str, Column]
    lots: Mapping[str, Column]
    positions: Mapping[str, Column]
    accounts: Mapping[str, Column] = field(default_factory=dict)  # ours only
    account_number: Column = _OUR_ACCOUNT_NUMBER
    total_rows: frozenset[str] = frozenset()
    actions: Sequence[tuple[str, str]] = ()
    action_prefix: bool = False
    # The action's spelling inside derived external ids (ids already booked must not change).
    action_id_upper: bool = False
    date_prefers_as_of: bool = False  # "MM/DD/YYYY as of MM/DD/YYYY": the as-of date
    sweep_symbols: frozenset[str] = frozenset()  # money-market core funds: cash, not securities
    sweep_suffix: str = ""  # a positions row whose symbol ends so is the core fund
    cash_row_prefix: str = ""  # a positions row whose symbol starts so is the cash balance
    skip_symbols: frozenset[str] = frozenset()  # positions rows passed over (normalized)
    as_of: AsOf = AsOf.NONE

    def file_layout(self, kind: ImportKind) -> Layout | None:
        """The layout of this source's files of ``kind`` (None when it has none)."""
        columns = {
            ImportKind.TRANSACTIONS: self.transactions,
            ImportKind.LOTS: self.lots,
            ImportKind.POSITIONS: self.positions,
            ImportKind.ACCOUNTS: self.accounts,
        }[kind]
        if not columns:
            return None
        return Layout(
            {"account_number": self.account_number, **columns},
            header=Header.SEARCH if self.custodian else Header.STRICT,
            total_rows=self.total_rows,
        )

    def kind_of(self, action: str) -> str | None:
        """Our kind for an action text, or None when the layout does not support it."""
        text = norm(action)
        if self.action_prefix:
            return next((kind for key, kind in self.actions if text.startswith(norm(key))), None)
        return next((kind for key, kind in self.actions if text == norm(key)), None)

    def action_id(self, action: str) -> str:
        """The action as spelled in a derived external id."""
        text = " ".join(action.split())
        return text.upper() if self.action_id_upper else text.lower()

    def is_sweep(self, symbol_text: str) -> bool:
        """Whether a symbol is the money-market core (cash): by name or by its marker."""
        text = symbol_text.strip().upper()
        return text in self.sweep_symbols or bool(
            self.sweep_suffix and text.endswith(self.sweep_suffix)
        )

    def is_cash_row(self, symbol_text: str) -> bool:
        """Whether a positions row holds the account's cash (its value is the balance)."""
        prefixed = bool(self.cash_row_prefix) and norm(symbol_text).startswith(self.cash_row_prefix)
        return prefixed or self.is_sweep(symbol_text)

    def problem_field(self, name: str) -> str:
        """The file's column for a field the import service reports on (ids: the date's)."""
        name = "trade_date" if name == "external_id" and self.custodian else name
        if name == "account_number":
            return self.account_number.name
        for columns in (self.transactions, self.lots, self.positions):
            if name in columns:
                return columns[name].name
        return name
