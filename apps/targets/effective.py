"""An account's effective target, with one explanation line per adjustment.

The flattened model goes through screens, restrictions, outside holdings and never-sell holdings.

Order of the steps (see docs/targets.md):

1. **Screens and never-buy.** A security the account may not buy (never-buy, an excluded
   sector, industry or ESG tag) leaves the target. Its weight goes to its first eligible
   substitute; else pro rata to the eligible names of the same industry; else of the same
   sector; else to every eligible name; else to cash. Risk exposure is kept where possible.
2. **Outside holdings.** An exposure held away (``symbol:INTC``, ``sector:Real Estate``,
   ``industry:Banks``), as a fraction of the account's value, reduces the matching names pro
   rata (never below a never-sell holding); the freed weight goes pro rata to every other
   eligible name (else cash), so the account and the outside holding together follow the model.
A rule in force that matches no name the model targets or the account holds gets a note line
("nothing held or targeted matched 'tobacco' on 2026-12-05"), so an advisor can tell a screen
honoured with nothing to remove from a screen ignored.

Funds are screened through their look-through holdings (``look_through``, one level): a rule
that would screen a fund's holding reaches the fund. The firm chooses (``exclude_screened_funds``)
whether such a fund is treated as restricted by that rule (removed as in step 1, never bought,
sold as the rule says) or stays and is flagged with a note line ("LCF holds 1.20% screened by
'tobacco screen' (MO 0.80%, PM 0.40%)").

3. **Never-sell holdings** stay: a never-sell symbol's target is at least its held weight. The
   excess is taken from the same industry, else sector, else every other name, else cash, so
   the holding counts toward its sector.

Arithmetic is exact: additions and subtractions never round, and every pro rata split hands its
rounding remainder (below ``QUANTUM`` per name) to a name with room, so each step moves weight
without creating or losing any. The weights and cash therefore still sum to exactly one.
Standard library only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Context, Decimal
from enum import StrEnum

from apps.targets.flatten import EXACT, ONE, ZERO, FlatTarget, WeightError, exact_sum

CASH = "$CASH"  # the key of cash in ``Move`` (no ticker starts with "$")
QUANTUM = Decimal("1e-16")  # resolution of pro rata splits (weights are fractions)
_DIVIDE = Context(prec=60, rounding=ROUND_DOWN)
_DISPLAY = Context(prec=60, rounding=ROUND_HALF_EVEN)
_LISTED = 5  # names listed in an explanation before "and N more"


class RuleKind(StrEnum):
    """What a restriction forbids (the value is a symbol, sector, industry or ESG tag)."""

    NEVER_BUY = "never_buy"
    NEVER_SELL = "never_sell"
    EXCLUDE_SECTOR = "exclude_sector"
    EXCLUDE_INDUSTRY = "exclude_industry"
    EXCLUDE_ESG = "exclude_esg"


class AdjustmentKind(StrEnum):
    """Why the target moved away from the model."""

    SCREEN = "screen"
    OUTSIDE_HOLDING = "outside_holding"
    NEVER_SELL = "never_sell"
    NOTE = "note"  # nothing moved (e.g. an outside holding the model does not hold)


class Route(StrEnum):
    """Where removed weight went, or where a never-sell holding took its weight from."""

    SUBSTITUTE = "substitute"
    INDUSTRY = "industry"
    SECTOR = "sector"
    PRO_RATA = "pro_rata"
    CASH = "cash"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class SecurityInfo:
    """Classification of a security (blank when unknown; blank never matches blank)."""

    sector: str = ""
    industry: str = ""
    esg_tags: frozenset[str] = frozenset()


_UNKNOWN = SecurityInfo()


@dataclass(frozen=True, slots=True)
class Rule:
    """A restriction in force on the account, already resolved from firm/household/account."""

    kind: RuleKind
    value: str
    reason: str = ""
    scope: str = ""  # "firm", "household" or "account", for the explanation
    # ``value`` normalized once: a target screens every name of the model against every rule.
    _key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_key", self.value.strip().casefold())

    def matches(self, symbol: str, info: SecurityInfo) -> bool:
        """Whether the rule applies to the security."""
        value = self._key
        if not value:
            return False
        if self.kind in (RuleKind.NEVER_BUY, RuleKind.NEVER_SELL):
            return symbol.casefold() == value
        if self.kind == RuleKind.EXCLUDE_SECTOR:
            return info.sector.strip().casefold() == value
        if self.kind == RuleKind.EXCLUDE_INDUSTRY:
            return info.industry.strip().casefold() == value
        return value in {tag.casefold() for tag in info.esg_tags}

    @property
    def label(self) -> str:
        """Human wording: "fossil fuels screen (firm: client values)"."""
        words = {
            RuleKind.NEVER_BUY: "never buy",
            RuleKind.NEVER_SELL: "never sell",
            RuleKind.EXCLUDE_SECTOR: f"{self.value} sector excluded",
            RuleKind.EXCLUDE_INDUSTRY: f"{self.value} industry excluded",
            RuleKind.EXCLUDE_ESG: f"{self.value.replace('_', ' ')} screen",
        }[self.kind]
        detail = ": ".join(part for part in (self.scope, self.reason) if part)
        return f"{words} ({detail})" if detail else words


@dataclass(frozen=True, slots=True)
class OutsideExposure:
    """An exposure held away from the account, as a weight or an amount (USD).

    ``key`` is ``symbol:<SYMBOL>``, ``sector:<sector>`` or ``industry:<industry>``. ``weight`` is a
    fraction of the account's value; an ``amount`` is converted with ``account_value``.
    """

    key: str
    weight: Decimal | None = None
    amount: Decimal | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Move:
    """A signed change of one symbol's target weight (``CASH`` for cash)."""

    symbol: str
    weight: Decimal


# Rules that reach a fund through its holdings (a never-sell rule keeps a holding, it screens
# nothing).
_SCREENING = frozenset(
    {RuleKind.NEVER_BUY, RuleKind.EXCLUDE_SECTOR, RuleKind.EXCLUDE_INDUSTRY, RuleKind.EXCLUDE_ESG}
)


@dataclass(frozen=True, slots=True)
class FundScreen:
    """A rule that screens some of a fund's look-through holdings, and which (largest first)."""

    rule: Rule
    holdings: tuple[tuple[str, Decimal], ...]

    @property
    def weight(self) -> Decimal:
        """The screened holdings' share of the fund."""
        return exact_sum(weight for _, weight in self.holdings)

    def describe(self) -> str:
        """The screened holdings as listed in a line: "MO 0.80%, PM 0.40%"."""
        shown = [f"{symbol} {pct(weight)}" for symbol, weight in self.holdings[:_LISTED]]
        more = len(self.holdings) - _LISTED
        return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def fund_screens(
    rules: Iterable[Rule],
    holdings: Mapping[str, Decimal],
    securities: Mapping[str, SecurityInfo],
) -> list[FundScreen]:
    """The rules that screen some of a fund's holdings (look-through weights), in rule order."""
    found = []
    for rule in rules:
        if rule.kind not in _SCREENING:
            continue
        hits = sorted(
            (
                (symbol, weight)
                for symbol, weight in holdings.items()
                if rule.matches(symbol, securities.get(symbol, _UNKNOWN))
            ),
            key=lambda item: (-item[1], item[0]),
        )
        if hits:
            found.append(FundScreen(rule, tuple(hits)))
    return found


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One change to the model, its explanation and the exact weight moves (summing to zero)."""

    kind: AdjustmentKind
    subject: str  # the symbol or exposure key the adjustment is about
    weight: Decimal  # weight moved (>= 0)
    route: Route
    moves: tuple[Move, ...]
    text: str


@dataclass(frozen=True, slots=True)
class EffectiveTarget:
    """Per-security target weights and cash (summing to exactly one), with the adjustments.

    ``model_weights``/``model_cash_weight`` are the flattened model before adjustments; the
    ``moves`` of ``adjustments`` reconcile the two exactly, symbol by symbol.
    """

    weights: Mapping[str, Decimal]
    cash_weight: Decimal
    model_weights: Mapping[str, Decimal]
    model_cash_weight: Decimal
    adjustments: tuple[Adjustment, ...] = ()
    blocked: frozenset[str] = field(default_factory=frozenset)  # never buy (screens included)
    never_sell: frozenset[str] = field(default_factory=frozenset)

    @property
    def lines(self) -> tuple[str, ...]:
        """The explanation lines, in the order the adjustments were made."""
        return tuple(adjustment.text for adjustment in self.adjustments)

    @property
    def total(self) -> Decimal:
        """Sum of the weights and cash: exactly one."""
        return EXACT.add(exact_sum(self.weights.values()), self.cash_weight)


def pct(weight: Decimal) -> str:
    """A weight as a percentage with two decimals: ``Decimal("0.008")`` -> ``"0.80%"``."""
    value = _DISPLAY.multiply(weight, Decimal(100)).quantize(Decimal("0.01"), context=_DISPLAY)
    return f"{value}%"


def _split(amount: Decimal, bases: Sequence[tuple[str, Decimal]], *, capped: bool) -> list[Move]:
    """Split ``amount`` pro rata to positive ``bases``; the parts sum to exactly ``amount``.

    With ``capped`` no part exceeds its base (needs ``amount <= sum(bases)``).
    """
    total = exact_sum(base for _, base in bases)
    parts = {
        symbol: _DIVIDE.divide(_DIVIDE.multiply(amount, base), total).quantize(
            QUANTUM, rounding=ROUND_DOWN, context=_DIVIDE
        )
        for symbol, base in bases
    }
    if capped:  # ROUND_DOWN could not push a part over its base; keep it that way
        parts = {symbol: min(parts[symbol], base) for symbol, base in bases}
    remainder = EXACT.subtract(amount, exact_sum(parts.values()))
    for symbol, base in sorted(bases, key=lambda item: (-item[1], item[0])):
        if remainder == ZERO:
            break
        room = EXACT.subtract(base, parts[symbol]) if capped else remainder
        take = min(room, remainder)
        parts[symbol] = EXACT.add(parts[symbol], take)
        remainder = EXACT.subtract(remainder, take)
    if remainder != ZERO:  # pragma: no cover - callers pass amount <= total when capped
        raise WeightError("pro rata split left a remainder")
    return [Move(symbol, part) for symbol, part in _ordered(parts, bases) if part != ZERO]


def _ordered(
    parts: Mapping[str, Decimal], bases: Sequence[tuple[str, Decimal]]
) -> list[tuple[str, Decimal]]:
    """The parts in the order of their bases (largest first, then by symbol)."""
    ordered = sorted(bases, key=lambda item: (-item[1], item[0]))
    return [(symbol, parts[symbol]) for symbol, _ in ordered]


def _names(moves: Sequence[Move], *, sign: str) -> str:
    shown = [f"{m.symbol} {sign}{pct(abs(m.weight))}" for m in moves[:_LISTED]]
    more = len(moves) - _LISTED
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


class _Book:
    """The target being adjusted, and the log of adjustments."""

    def __init__(
        self,
        flat: FlatTarget,
        securities: Mapping[str, SecurityInfo],
        rules: Sequence[Rule],
        held: Mapping[str, Decimal],
        look_through: Mapping[str, Mapping[str, Decimal]] | None = None,
        exclude_screened_funds: bool = False,
    ) -> None:
        self.weights: dict[str, Decimal] = dict(flat.weights)
        self.cash = flat.cash_weight
        self.securities = securities
        self.rules = tuple(rules)
        self.held = held
        self.adjustments: list[Adjustment] = []
        self.fund_screens = {
            fund: screens
            for fund, holdings in (look_through or {}).items()
            if (screens := fund_screens(self.rules, holdings, securities))
        }
        self.exclude_screened_funds = exclude_screened_funds
        self.never_sell = frozenset(
            symbol for symbol, weight in held.items() if weight > ZERO and self._never_sell(symbol)
        )

    def info(self, symbol: str) -> SecurityInfo:
        return self.securities.get(symbol, _UNKNOWN)

    def blocking(self, symbol: str) -> list[Rule]:
        """Rules that forbid buying the symbol (never-buy and screens, through a fund if so)."""
        info = self.info(symbol)
        direct = [
            r for r in self.rules if r.kind != RuleKind.NEVER_SELL and r.matches(symbol, info)
        ]
        if self.exclude_screened_funds and symbol in self.fund_screens:
            direct += [fs.rule for fs in self.fund_screens[symbol] if fs.rule not in direct]
        return direct

    def why(self, symbol: str, rules: Sequence[Rule]) -> str:
        """The rules' labels; one reaching a fund through its holdings names them."""
        through = {fs.rule: fs for fs in self.fund_screens.get(symbol, ())}
        return "; ".join(
            f"{rule.label} through its holdings ({through[rule].describe()})"
            if rule in through and not rule.matches(symbol, self.info(symbol))
            else rule.label
            for rule in rules
        )

    def _never_sell(self, symbol: str) -> bool:
        return any(
            r.kind == RuleKind.NEVER_SELL and r.matches(symbol, self.info(symbol))
            for r in self.rules
        )

    def floor(self, symbol: str) -> Decimal:
        """The weight a symbol's target may not go below (its held weight if never-sell)."""
        return self.held.get(symbol, ZERO) if symbol in self.never_sell else ZERO

    def eligible(self, *, exclude: Iterable[str] = ()) -> list[str]:
        """Names in the target that may receive weight (held > 0 and not blocked)."""
        skip = set(exclude)
        return [
            s
            for s, w in sorted(self.weights.items())
            if w > ZERO and s not in skip and not self.blocking(s)
        ]

    def peers(self, symbol: str, candidates: Iterable[str]) -> tuple[Route, str, list[str]]:
        """The first non-empty group of candidates: same industry, same sector, everyone."""
        info = self.info(symbol)
        candidates = list(candidates)
        for route, attribute in ((Route.INDUSTRY, "industry"), (Route.SECTOR, "sector")):
            mine = getattr(info, attribute).strip().casefold()
            group = [
                c
                for c in candidates
                if mine and getattr(self.info(c), attribute).strip().casefold() == mine
            ]
            if group:
                return route, getattr(info, attribute), group
        return Route.PRO_RATA, "", candidates

    def apply(self, moves: Iterable[Move]) -> None:
        for move in moves:
            if move.symbol == CASH:
                self.cash = EXACT.add(self.cash, move.weight)
            else:
                self.weights[move.symbol] = EXACT.add(
                    self.weights.get(move.symbol, ZERO), move.weight
                )

    def log(
        self,
        kind: AdjustmentKind,
        subject: str,
        weight: Decimal,
        route: Route,
        moves: Sequence[Move],
        text: str,
    ) -> None:
        self.apply(moves)
        self.adjustments.append(Adjustment(kind, subject, weight, route, tuple(moves), text))

    def give(self, amount: Decimal, recipients: Sequence[str]) -> list[Move]:
        """Moves that add ``amount`` to ``recipients`` pro rata to their weights (else cash)."""
        if not recipients:
            return [Move(CASH, amount)]
        return _split(amount, [(s, self.weights[s]) for s in recipients], capped=False)

    def room(self, symbol: str) -> Decimal:
        return max(EXACT.subtract(self.weights.get(symbol, ZERO), self.floor(symbol)), ZERO)

    def take(self, amount: Decimal, donors: Sequence[str]) -> list[Move]:
        """Moves that take up to ``amount`` from ``donors`` pro rata to their room (capped)."""
        bases = [(s, self.room(s)) for s in donors if self.room(s) > ZERO]
        if not bases or amount <= ZERO:
            return []
        available = exact_sum(base for _, base in bases)
        wanted = min(amount, available)
        return [Move(m.symbol, -m.weight) for m in _split(wanted, bases, capped=True)]


def _destination(route: Route, group: str, moves: Sequence[Move]) -> str:
    if route == Route.CASH:
        return "cash (no eligible security)"
    names = _names(moves, sign="+")
    if route == Route.SUBSTITUTE:
        return f"substitute {names}"
    if route in (Route.INDUSTRY, Route.SECTOR):
        return f"{group} names {names} (same {route.value})"
    return f"the other names pro rata: {names}"


def _screen(book: _Book, substitutes: Mapping[str, Sequence[str]]) -> None:
    for symbol in sorted(book.weights):
        rules = book.blocking(symbol)
        weight = book.weights[symbol]
        if not rules or weight <= ZERO:
            continue
        why = book.why(symbol, rules)
        keep = min(weight, book.floor(symbol))
        amount = EXACT.subtract(weight, keep)
        if amount == ZERO:
            continue
        substitute = next(
            (
                alt
                for alt in substitutes.get(symbol, ())
                if alt != symbol and not book.blocking(alt)
            ),
            None,
        )
        group = ""
        if substitute is not None:
            route, gives = Route.SUBSTITUTE, [Move(substitute, amount)]
        else:
            candidates = book.eligible(exclude=[symbol])
            route, group, recipients = book.peers(symbol, candidates)
            if not recipients:
                route = Route.CASH
            gives = book.give(amount, recipients)
        moves = [Move(symbol, -amount), *gives]
        if keep > ZERO:
            head = f"{symbol} reduced to its held {pct(keep)}: {why}, but never sell"
        else:
            head = f"{symbol} removed: {why}"
        text = f"{head}; weight {pct(amount)} moved to {_destination(route, group, gives)}"
        book.log(AdjustmentKind.SCREEN, symbol, amount, route, moves, text)


def _flag_funds(book: _Book) -> None:
    """A note for each fund left in the target whose holdings a rule screens (firm: flag)."""
    for fund in sorted(book.fund_screens):
        if book.weights.get(fund, ZERO) <= ZERO or book.blocking(fund):
            continue
        for screen in book.fund_screens[fund]:
            book.log(
                AdjustmentKind.NOTE,
                fund,
                ZERO,
                Route.NONE,
                [],
                f"{fund} holds {pct(screen.weight)} screened by '{screen.rule.label}' "
                f"({screen.describe()}); kept: the firm flags funds, it does not exclude them",
            )


def _unmatched(book: _Book, targeted: Iterable[str], as_of: date | None) -> None:
    """A note for each rule that matches no targeted or held name (nothing for it to do)."""
    names = sorted(set(targeted) | set(book.held))
    on = f" on {as_of.isoformat()}" if as_of is not None else ""
    reached = {fs.rule for fund in names for fs in book.fund_screens.get(fund, ())}
    for rule in book.rules:
        if rule in reached or any(rule.matches(symbol, book.info(symbol)) for symbol in names):
            continue
        book.log(
            AdjustmentKind.NOTE,
            rule.value,
            ZERO,
            Route.NONE,
            [],
            f"{rule.label}: nothing held or targeted matched '{rule.value}'{on}",
        )


def _exposure_members(book: _Book, key: str) -> tuple[str, list[str]] | None:
    kind, _, value = key.partition(":")
    kind, wanted = kind.strip().casefold(), value.strip().casefold()
    if not wanted:
        return None
    tests: dict[str, Callable[[str], bool]] = {
        "symbol": lambda s: s.casefold() == wanted,
        "sector": lambda s: book.info(s).sector.strip().casefold() == wanted,
        "industry": lambda s: book.info(s).industry.strip().casefold() == wanted,
    }
    test = tests.get(kind)
    if test is None:
        return None
    return value.strip(), [s for s, w in sorted(book.weights.items()) if w > ZERO and test(s)]


def _outside(
    book: _Book, outside: Sequence[OutsideExposure], account_value: Decimal | None
) -> None:
    for exposure in sorted(outside, key=lambda e: e.key):
        label = f"Outside holding {exposure.key}" + (
            f" ({exposure.reason})" if exposure.reason else ""
        )
        if exposure.weight is not None:
            weight = exposure.weight
        elif exposure.amount is not None and account_value is not None and account_value > ZERO:
            weight = min(_DIVIDE.divide(exposure.amount, account_value), ONE).quantize(
                QUANTUM, rounding=ROUND_DOWN, context=_DIVIDE
            )
        else:
            book.log(
                AdjustmentKind.NOTE,
                exposure.key,
                ZERO,
                Route.NONE,
                [],
                f"{label} ignored: an amount needs the account's value, and it has none",
            )
            continue
        if weight < ZERO:
            raise WeightError(f"outside holding {exposure.key}: negative weight")
        found = _exposure_members(book, exposure.key)
        if found is None:
            book.log(
                AdjustmentKind.NOTE,
                exposure.key,
                ZERO,
                Route.NONE,
                [],
                f"{label} ignored: unknown exposure (use symbol:, sector: or industry:)",
            )
            continue
        name, members = found
        takes = book.take(weight, members)
        reduced = -exact_sum(m.weight for m in takes)
        if reduced == ZERO:
            book.log(
                AdjustmentKind.NOTE,
                exposure.key,
                ZERO,
                Route.NONE,
                [],
                f"{label} of {pct(weight)}: nothing to offset (the target holds no {name})",
            )
            continue
        recipients = book.eligible(exclude=members)
        gives = book.give(reduced, recipients)
        route = Route.PRO_RATA if recipients else Route.CASH
        text = (
            f"{label} of {pct(weight)}: {name} reduced by {pct(reduced)} "
            f"({_names(takes, sign='-')}); moved to {_destination(route, '', gives)}"
        )
        if reduced < weight:
            text += f"; {pct(EXACT.subtract(weight, reduced))} not offset (nothing left to reduce)"
        book.log(
            AdjustmentKind.OUTSIDE_HOLDING, exposure.key, reduced, route, [*takes, *gives], text
        )


def _never_sell(book: _Book) -> None:
    for symbol in sorted(book.never_sell):
        held = book.held[symbol]
        target = book.weights.get(symbol, ZERO)
        if held <= target:
            continue
        need = EXACT.subtract(held, target)
        others = [s for s, w in sorted(book.weights.items()) if w > ZERO and s != symbol]
        takes: list[Move] = []
        route, group, peers = book.peers(symbol, others)
        sources: list[tuple[Route, str]] = []
        for donors, source_route, source_group in (
            (peers, route, group),
            ([s for s in others if s not in book.never_sell], Route.PRO_RATA, ""),
        ):
            got = book.take(EXACT.subtract(need, _taken(takes)), donors)
            if got:
                book.apply(got)
                takes.extend(got)
                sources.append((source_route, source_group))
        still = EXACT.subtract(need, _taken(takes))
        if still > ZERO:  # then cash, then other never-sell targets above their held weight
            from_cash = min(still, book.cash)
            if from_cash > ZERO:
                cash_move = Move(CASH, -from_cash)
                book.apply([cash_move])
                takes.append(cash_move)
                sources.append((Route.CASH, ""))
            got = book.take(EXACT.subtract(need, _taken(takes)), others)
            book.apply(got)
            takes.extend(got)
        book.apply([Move(m.symbol, -m.weight) for m in takes])  # undo: log() re-applies all
        if _taken(takes) != need:  # pragma: no cover - held weights sum to at most one
            raise WeightError(f"never-sell {symbol}: cannot make room for {pct(need)}")
        first_route, first_group = sources[0] if sources else (Route.PRO_RATA, "")
        where = (
            f"{first_group} names" if first_route in (Route.INDUSTRY, Route.SECTOR) else "others"
        )
        rule = next(
            r
            for r in book.rules
            if r.kind == RuleKind.NEVER_SELL and r.matches(symbol, book.info(symbol))
        )
        text = (
            f"{symbol} kept at its held {pct(held)} ({rule.label}); target was {pct(target)}; "
            f"{pct(need)} taken from {where}: {_names(takes, sign='-')}"
        ).replace(f"{CASH} -", "cash -")
        book.log(
            AdjustmentKind.NEVER_SELL,
            symbol,
            need,
            first_route,
            [*takes, Move(symbol, need)],
            text,
        )


def _taken(moves: Iterable[Move]) -> Decimal:
    return -exact_sum(m.weight for m in moves)


def effective_target(
    flat: FlatTarget,
    *,
    securities: Mapping[str, SecurityInfo],
    rules: Sequence[Rule] = (),
    outside: Sequence[OutsideExposure] = (),
    substitutes: Mapping[str, Sequence[str]] | None = None,
    held_weights: Mapping[str, Decimal] | None = None,
    account_value: Decimal | None = None,
    as_of: date | None = None,
    look_through: Mapping[str, Mapping[str, Decimal]] | None = None,
    exclude_screened_funds: bool = False,
) -> EffectiveTarget:
    """Apply screens, restrictions, outside holdings and never-sell holdings to a flat model.

    Args:
        flat: the flattened model (weights and cash summing to one).
        securities: sector, industry and ESG tags by symbol (model names, substitutes, held).
        rules: restrictions in force (firm, household and account, already merged).
        outside: exposures held away from the account.
        substitutes: symbol -> alternatives in order of preference (the first eligible is used).
        held_weights: the account's current weights by symbol (fractions of its value); only
            symbols a rule matches are read (never-sell floors, and whether a rule matches any
            holding).
        account_value: the account's value (USD), to turn outside amounts into weights.
        as_of: the day the rules are applied, named in the note of a rule that matches nothing.
        look_through: a fund's holdings (symbol -> fraction of the fund) by fund symbol; their
            classifications must be in ``securities``. A rule screening a holding reaches the
            fund.
        exclude_screened_funds: the firm's choice for such a fund: True treats it as restricted
            by the rule (removed, blocked); False keeps it with a note line (flag).

    Returns:
        The effective target; ``weights`` holds positive weights only, ordered by symbol.

    Raises:
        WeightError: the model does not sum to one, or held weights are negative or sum above one.
    """
    if flat.total != ONE:
        raise WeightError(f"model weights sum to {flat.total}, not 1")
    held = dict(held_weights or {})
    if any(w < ZERO for w in held.values()) or exact_sum(held.values()) > ONE:
        raise WeightError("held weights must be >= 0 and sum to at most 1")
    book = _Book(flat, securities, rules, held, look_through, exclude_screened_funds)
    _screen(book, substitutes or {})
    _flag_funds(book)
    _unmatched(book, (s for s, w in flat.weights.items() if w > ZERO), as_of)
    _outside(book, outside, account_value)
    _never_sell(book)
    weights = {s: w for s, w in sorted(book.weights.items()) if w != ZERO}
    blocked = frozenset(s for s in {*flat.weights, *weights, *held} if book.blocking(s))
    result = EffectiveTarget(
        weights=weights,
        cash_weight=book.cash,
        model_weights=dict(flat.weights),
        model_cash_weight=flat.cash_weight,
        adjustments=tuple(book.adjustments),
        blocked=blocked,
        never_sell=book.never_sell,
    )
    if result.total != ONE or any(w < ZERO for w in weights.values()) or book.cash < ZERO:
        raise WeightError("effective target lost its balance")  # pragma: no cover
    return result
