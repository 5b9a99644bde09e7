"""What each custodian's trade files can carry, read by the optimizer and the trade desk."""

# Fidelity's order import takes quantities "out to three decimal places" (Wealthscape Import
# Orders help); the others we write take the ledger's six (docs/custodian-files.md).
FIDELITY_QUANTITY_PLACES = 3
DEFAULT_QUANTITY_PLACES = 6  # the ledger's share precision (``money.SHARE_QUANTUM``)
_QUANTITY_PLACES = {"fidelity": FIDELITY_QUANTITY_PLACES}


def quantity_places(custodian: str) -> int:
    """Decimal places of a share quantity the custodian's trade file takes (0 to 6)."""
    return _QUANTITY_PLACES.get(custodian.strip().lower(), DEFAULT_QUANTITY_PLACES)
