"""What each custodian's trade files can carry, read by the optimizer and the trade desk."""

from django.conf import settings

# Fidelity's order import takes quantities "out to three decimal places" (Wealthscape Import
# Orders help); the others we write take the ledger's six (docs/custodian-files.md).
FIDELITY_QUANTITY_PLACES = 3
DEFAULT_QUANTITY_PLACES = 6  # the ledger's share precision (``money.SHARE_QUANTUM``)
_QUANTITY_PLACES = {"fidelity": FIDELITY_QUANTITY_PLACES}


def quantity_places(custodian: str) -> int:
    """Decimal places of a share quantity the custodian's trade file takes (0 to 6)."""
    return _QUANTITY_PLACES.get(custodian.strip().lower(), DEFAULT_QUANTITY_PLACES)


def takes_specified_lots(custodian: str) -> bool:
    """Whether the custodian takes lot instructions with a sell (specific identification).

    Every layout we write carries them (docs/custodian-files.md: Schwab's "Specified Lots"
    versus-purchase lots, the Fidelity-like file's tax-lot columns, the generic file's
    ``lot_instructions``); a custodian listed in ``settings.CUSTODIANS_WITHOUT_SPECIFIED_LOTS``
    relieves every sell by the account's lot method instead.
    """
    without = {name.strip().lower() for name in settings.CUSTODIANS_WITHOUT_SPECIFIED_LOTS}
    return custodian.strip().lower() not in without
