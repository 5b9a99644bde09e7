"""Optional TOTP (django-otp) for every login, required of privileged ones by a setting.

``PLATFORM_TOTP_REQUIRED`` requires it of platform staff and firm admins.

A user with a confirmed device gives its code at every sign-in: on the sign-in pages, both admin
sites and the token endpoint (``totp_check``). A wrong code counts as a failed sign-in for the
lockout (django-axes), so codes cannot be guessed faster than passwords. Devices live in the
login's schema, like the login. When TOTP is required, a privileged user without a device may
sign in on a page only to enrol: every other page sends them to enrolment, and the token
endpoint refuses them.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_tenants.utils import get_public_schema_name

from apps.access.permissions import user_role
from apps.access.roles import Role
from apps.common.tenancy import current_schema

WRONG_CODE = "The authenticator code is missing or wrong."
ENROL_FIRST = "Set up an authenticator app first (required for your role), on the sign-in page."


def is_privileged(user: User) -> bool:
    """Platform staff (public schema) and firm admins: those TOTP may be required of."""
    if current_schema() == get_public_schema_name():
        return bool(user.is_staff)
    return user_role(user) == Role.FIRM_ADMIN


def totp_device_for(user: User) -> TOTPDevice | None:
    """The user's confirmed TOTP device, if they enrolled one."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def totp_check(*, request: HttpRequest | None, user: User, code: str, for_api: bool) -> None:
    """Second factor of a sign-in whose password was right.

    Args:
        request: the sign-in request (a wrong code is counted against the user and address).
        user: the user the password named.
        code: the 6-digit code given ("" when none).
        for_api: the token endpoint (a privileged user who must enrol is refused there).

    Raises:
        ValidationError: a wrong or missing code, or enrolment required first (API).
    """
    device = totp_device_for(user)
    if device is None:
        if for_api and settings.PLATFORM_TOTP_REQUIRED and is_privileged(user):
            raise ValidationError(ENROL_FIRST, code="otp_enrolment_required")
        return
    if not device.verify_token(code.strip()):
        user_login_failed.send(
            sender=__name__, credentials={"username": user.get_username()}, request=request
        )
        raise ValidationError(WRONG_CODE, code="otp_invalid")


@transaction.atomic
def totp_device_start(*, user: User) -> TOTPDevice:
    """A new unconfirmed device for the user (any earlier unconfirmed one is dropped)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


@transaction.atomic
def totp_device_confirm(*, device: TOTPDevice, code: str, acting_user: User) -> bool:
    """Confirm an enrolment with a code from the app; earlier devices of the user are replaced.

    Returns:
        Whether the code was right (the device is confirmed only then); audited in a firm.
    """
    if not device.verify_token(code.strip()):
        return False
    TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    if current_schema() != get_public_schema_name():
        from apps.access.services import audit_event_record

        audit_event_record(action="totp.enrol", acting_user=acting_user, obj=device.user)
    return True


class TotpEnrolmentMiddleware:
    """With ``PLATFORM_TOTP_REQUIRED``, a privileged user without a device sees only enrolment."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """Send the user to enrolment, or serve the request."""
        user: Any = getattr(request, "user", None)
        if not (settings.PLATFORM_TOTP_REQUIRED and user is not None and user.is_authenticated):
            return self.get_response(request)
        # The host's URLconf (the platform's or a firm's) is not active yet in a middleware.
        urlconf = getattr(request, "urlconf", None)
        enrol = reverse("totp-enrol", urlconf=urlconf)
        if (
            request.path not in (enrol, reverse("logout", urlconf=urlconf))
            and not request.path.startswith("/" + settings.STATIC_URL.lstrip("/"))
            and is_privileged(user)
            and totp_device_for(user) is None
        ):
            return redirect(enrol)
        return self.get_response(request)
