"""The sign-in policy of every door: who is signing in, from where, and the answer when locked out.

django-axes counts failures (``AUTHENTICATION_BACKENDS`` starts with its backend, so every
``authenticate()`` call is checked: the sign-in pages, both admin sites, the token endpoint). The
settings (``AXES_*`` in ``config/settings/base.py``) point here for the client's address, the
username counted and the 429 answer. Counts live in the cache; the cache's key function puts the
schema first, so a firm's failures never lock another firm's user of the same name.
"""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse

LOCKED_MESSAGE = "Too many failed sign-ins. Wait a few minutes and try again."


def client_address(request: HttpRequest) -> str:
    """The client's address: the peer's, or the one the outermost trusted proxy saw.

    With ``PLATFORM_TRUSTED_PROXY_COUNT`` = n > 0, each of our n proxies appended the address it
    received from to ``X-Forwarded-For``, so the n-th entry from the right is the client's; entries
    further left are the client's own claims and are ignored. With 0 (the default) the header is
    ignored entirely: anyone can send it.
    """
    peer = str(request.META.get("REMOTE_ADDR", ""))
    proxies = int(settings.PLATFORM_TRUSTED_PROXY_COUNT)
    if proxies <= 0:
        return peer
    forwarded = [a.strip() for a in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")]
    forwarded = [a for a in forwarded if a]
    if len(forwarded) < proxies:  # the request did not come through every proxy
        return peer
    return forwarded[-proxies]


def attempted_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The username a sign-in names, case and spaces folded, marked apart from addresses.

    The mark keeps a username that looks like an address (``10.0.0.5``) from sharing that
    address's count.
    """
    source: Any = credentials if credentials else getattr(request, "POST", {})
    name = source.get("username") if source else None
    if not name:
        return None
    return f"user:{str(name).strip().lower()}"


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """429 for a refused sign-in: JSON on the API, the sign-in page with the message elsewhere.

    Args:
        request: the sign-in request.
        original_response: what the door answered (a sign-in form with an error).
        credentials: the credentials tried (unused: the message names no account).
    """
    retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {"code": "locked_out", "message": LOCKED_MESSAGE}, status=429
        )
    elif isinstance(original_response, TemplateResponse) and original_response.context_data:
        context = dict(original_response.context_data)
        form = context.get("form")
        if form is not None:  # only the lockout, not "wrong password", whatever was typed
            form.errors.clear()
            form.add_error(None, LOCKED_MESSAGE)
        context["locked"] = True
        response = TemplateResponse(
            request, original_response.template_name, context, status=429
        ).render()
    else:
        response = HttpResponse(LOCKED_MESSAGE, status=429, content_type="text/plain")
    response["Retry-After"] = retry_after
    return response


class TotpCodeMixin(forms.Form):
    """The authenticator code, asked of a user who enrolled one (``apps.access.totp``)."""

    otp_token = forms.CharField(
        label="Authenticator code", required=False, max_length=8, strip=True
    )

    def confirm_login_allowed(self, user: User) -> None:
        """After the right password: the right code, when the user has a device."""
        from apps.access.totp import totp_check

        super().confirm_login_allowed(user)  # type: ignore[misc]
        code = str(self.data.get("otp_token", ""))
        totp_check(request=self.request, user=user, code=code, for_api=False)  # type: ignore[attr-defined]


class SignInForm(TotpCodeMixin, AuthenticationForm):
    """The sign-in pages' form: username, password and, once enrolled, the code."""


class AdminSignInForm(TotpCodeMixin, AdminAuthenticationForm):
    """Both admin sites' sign-in form (staff only, as Django's), with the code."""
