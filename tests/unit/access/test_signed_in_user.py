"""``signed_in_user``: who acted on an admin page, never an anonymous visitor."""

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from apps.access.permissions import signed_in_user


def test_returns_the_signed_in_user() -> None:
    request = RequestFactory().get("/")
    request.user = User(username="ada")
    assert signed_in_user(request) is request.user


def test_refuses_an_anonymous_visitor() -> None:
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    with pytest.raises(PermissionDenied):
        signed_in_user(request)
