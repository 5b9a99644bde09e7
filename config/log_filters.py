"""Logging filters named by ``LOGGING`` (config/settings/base.py)."""

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """Keep a 4xx response's log line and drop its traceback.

    Django logs a refused request (403, 404 raised as exceptions) with the exception attached;
    the refusal is expected behaviour, not a fault: one line says what was refused. Server
    errors (5xx) keep their traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Strip the exception of records whose ``status_code`` is below 500; keep every record."""
        if getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
