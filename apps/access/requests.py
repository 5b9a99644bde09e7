"""Requests whose user has signed in, for the type checker (django-stubs' recipe).

A page behind ``action_required`` and an API view behind ``IsFirmMember`` (the default permission)
only run for a signed-in firm user; annotating their ``request`` with these types lets them pass
``request.user`` where a ``User`` is required (``acting_user``). Nothing constructs them at runtime.
"""

from django.contrib.auth.models import User
from django.http import HttpRequest
from rest_framework.request import Request


class AuthenticatedHttpRequest(HttpRequest):
    """A page request from a signed-in user."""

    user: User


class AuthenticatedRequest(Request):
    """An API request from a signed-in user."""

    user: User
