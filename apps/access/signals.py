"""Tokens end when their user's password changes or the user is deactivated, by any path.

A signal, not a service: the password can change through Django's own forms (the admin's password
page, a password reset), ``set_password`` + ``save`` or ``changepassword``, none of which call our
services. (Writes that skip ``save()`` are caught anyway: a token checks its user's password
fingerprint and ``is_active`` on every use, ``apps.access.selectors.api_token_get_usable``.)
"""

from typing import Any

from django_tenants.utils import get_public_schema_name

from apps.access.models import ApiTokenRevokeReason
from apps.common.tenancy import current_schema


def revoke_tokens_on_password_change_or_deactivation(
    sender: Any, instance: Any, raw: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    """``pre_save`` of the user model: revoke the user's tokens when either changes."""
    from apps.access.services import api_tokens_revoke_for_user

    if raw or instance.pk is None or current_schema() == get_public_schema_name():
        return  # platform staff (public schema) hold no tokens
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return  # e.g. last_login on every sign-in
    before = sender.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if before is None:
        return
    if before["password"] != instance.password:
        reason = ApiTokenRevokeReason.PASSWORD_CHANGED
    elif before["is_active"] and not instance.is_active:
        reason = ApiTokenRevokeReason.DEACTIVATED
    else:
        return
    api_tokens_revoke_for_user(user=instance, reason=reason)
