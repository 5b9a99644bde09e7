"""Integration tests run in the public schema unless a fixture enters a firm's."""

from collections.abc import Iterator

import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def _back_to_public() -> Iterator[None]:
    """Every test starts and ends in the public schema, whatever it switched to."""
    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()
