"""A run that raises an account's tracking error says why (``_tracking_error_note``)."""

from types import SimpleNamespace

from apps.optimizer.adapters.results import _tracking_error_note
from apps.optimizer.core.types import DroppedTrade, TradeReason, TradeSide


def _result(before: float, after: float, reasons=(), dropped=()):
    """The fields of a ``RebalanceResult`` the note reads."""
    return SimpleNamespace(
        before=SimpleNamespace(active_risk_rate=before),
        after=SimpleNamespace(active_risk_rate=after),
        trades=[SimpleNamespace(reason=r) for r in reasons],
        dropped=tuple(dropped),
    )


def test_no_note_when_tracking_error_falls_or_stays():
    assert _tracking_error_note(_result(0.02, 0.01)) == ("", "")
    assert _tracking_error_note(_result(0.02, 0.02 + 5e-6)) == ("", "")


def test_a_rise_names_the_trades_that_cause_it():
    note, unexplained = _tracking_error_note(
        _result(0.0254, 0.0534, [TradeReason.RAISE_CASH, TradeReason.HARVEST])
    )
    assert note.startswith("Tracking error rises from 2.54% to 5.34%: cash is raised")
    assert "losses are harvested" in note
    assert unexplained == ""


def test_trades_left_out_after_the_solve_explain_a_rise():
    dropped = [DroppedTrade("1", TradeSide.BUY, "AAA", None, 4860.6, "less than one share")]
    note, unexplained = _tracking_error_note(_result(0.019, 0.0211, [], dropped))
    assert "1 of the solver's trades (4,860.60) were left out" in note
    assert unexplained == ""


def test_an_unexplained_rise_is_reported_as_such():
    note, unexplained = _tracking_error_note(_result(0.019, 0.0211, [TradeReason.REDUCE_RISK]))
    assert unexplained == (
        "Tracking error rises from 1.90% to 2.11% with no forced sale, cash need, harvest or "
        "trade left out to explain it"
    )
    assert note == unexplained + "."
