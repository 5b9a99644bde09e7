"""Block orders, custodian trade files and fills: the trading desk's pages, API and reads.

The writes are services (``apps.trading.services.orders``, ``trade_files``, ``fills``); this
sub-package holds what the desk sees: ``selectors`` (reads), ``views`` (pages), ``apis`` (the
API) and their URLs (``urls_pages``, ``urls``).
"""
