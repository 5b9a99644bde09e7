"""``page_as_of``: the date a page was asked for (its fallback, the firm's today, needs a firm)."""

from datetime import date

import pytest
from django.core.exceptions import BadRequest
from django.test import RequestFactory

from apps.common.tenancy import page_as_of


def test_reads_the_query_date() -> None:
    assert page_as_of(RequestFactory().get("/", {"as_of": "2024-02-29"})) == date(2024, 2, 29)


def test_reads_the_posted_date() -> None:
    assert page_as_of(RequestFactory().post("/", {"as_of": "2023-12-31"})) == date(2023, 12, 31)


def test_refuses_a_malformed_date() -> None:
    with pytest.raises(BadRequest):
        page_as_of(RequestFactory().get("/", {"as_of": "2024-02-30"}))
