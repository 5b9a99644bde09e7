"""The custodian layouts this firm's imports read, by name (``--layout``, the upload page)."""

from apps.accounts.layouts.declaration import AsOf, CustodianLayout, ImportKind
from apps.accounts.layouts.fidelity import FIDELITY
from apps.accounts.layouts.generic import GENERIC
from apps.accounts.layouts.schwab import SCHWAB

# A new custodian: a module declaring its ``CustodianLayout`` and one entry here.
LAYOUTS: dict[str, CustodianLayout] = {
    layout.name: layout for layout in (GENERIC, SCHWAB, FIDELITY)
}

__all__ = ["LAYOUTS", "AsOf", "CustodianLayout", "ImportKind"]
