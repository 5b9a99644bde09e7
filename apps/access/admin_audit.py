"""Every change through an admin site leaves an audit row: the base every registration uses.

``AuditedModelAdmin`` hooks the points every admin write passes through: ``log_addition`` and
``log_change`` (add and change forms, list-editable rows, the password form), ``log_deletions``
(the delete page and the bulk delete action) and the actions (``get_actions``). The row goes to
the site's ``audit_record``: the firm's ``AuditEvent`` on a firm's site, the platform's
``PlatformAuditEvent`` on the public one. The admin sites refuse a registration without this
base (``AuditedAdminSite.register``).

Payloads carry each changed field's value before and after, as text; fields whose name marks a
secret (a password hash) carry only that they changed.
"""

from collections.abc import Callable
from typing import Any, cast

from django.contrib import admin
from django.db import models, router, transaction
from django.http import HttpRequest
from django.template.response import TemplateResponse

SECRET_MARKERS = ("password", "secret", "token")
HIDDEN = "(hidden)"
_BEFORE_ATTR = "_admin_audit_before"

FieldValues = dict[str, str | list[str] | None]


def _is_secret(field_name: str) -> bool:
    return any(marker in field_name for marker in SECRET_MARKERS)


def field_values(obj: models.Model) -> FieldValues:
    """The row's fields as text (many-to-many as sorted names), secrets included: keep in memory.

    Only ``field_changes`` and ``hidden`` output reaches a payload.
    """
    values: FieldValues = {}
    for field in obj._meta.concrete_fields:
        if not field.primary_key:
            value = field.value_from_object(obj)
            values[field.name] = None if value is None else str(value)
    for m2m in obj._meta.many_to_many:
        values[m2m.name] = sorted(str(o) for o in m2m.value_from_object(obj))
    return values


def hidden(values: FieldValues) -> FieldValues:
    """The values with every secret (a password hash) replaced by ``(hidden)``."""
    return {k: HIDDEN if _is_secret(k) and v else v for k, v in values.items()}


def field_changes(before: FieldValues, after: FieldValues) -> dict[str, dict[str, Any]]:
    """``{field: {"before": …, "after": …}}`` for the fields that differ, secrets hidden.

    A secret that changed shows as ``{"before": "(hidden)", "after": "(hidden)"}``: the hashes
    differ, their values never leave the process.
    """
    old, new = hidden(before), hidden(after)
    return {
        name: {"before": old.get(name), "after": new[name]}
        for name, value in after.items()
        if before.get(name) != value
    }


def _key(obj: models.Model) -> tuple[str, str]:
    return obj._meta.label, str(obj.pk)


def _stored(obj: models.Model) -> models.Model:
    # As the database holds it (a decimal typed "0.99" reads back "0.99000000").
    return type(obj)._default_manager.filter(pk=obj.pk).first() or obj


class AuditedModelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The base of every registration on either admin site (see the module docstring)."""

    def _remember(self, request: HttpRequest, obj: models.Model) -> None:
        # The row as stored, before the form changes the instance in place.
        before: dict[tuple[str, str], FieldValues] = request.__dict__.setdefault(_BEFORE_ATTR, {})
        before.setdefault(_key(obj), field_values(obj))

    def _remembered(self, request: HttpRequest, obj: models.Model) -> FieldValues | None:
        before: dict[tuple[str, str], FieldValues] = request.__dict__.get(_BEFORE_ATTR, {})
        return before.get(_key(obj))

    def _record(
        self, request: HttpRequest, action: str, obj: models.Model | None, payload: dict[str, Any]
    ) -> None:
        self.admin_site.audit_record(  # type: ignore[attr-defined]
            request=request, action=action, obj=obj, payload=payload
        )

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        """The row, remembered as stored (change, password and delete pages)."""
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            self._remember(request, obj)
        return obj

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Save; a list-editable row is remembered from the database first."""
        if change and self._remembered(request, obj) is None:
            self._remember(request, _stored(obj))
        super().save_model(request, obj, form, change)

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        """Audit ``admin.add`` with every field set."""
        after: FieldValues = {
            k: v for k, v in field_values(_stored(obj)).items() if v not in (None, "", [])
        }
        self._record(
            request,
            "admin.add",
            obj,
            {"changes": field_changes({}, after), "message": message},
        )
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        """Audit ``admin.change`` (``admin.password_change`` when only a secret changed)."""
        changes = field_changes(self._remembered(request, obj) or {}, field_values(_stored(obj)))
        only_secrets = bool(changes) and all(_is_secret(name) for name in changes)
        self._record(
            request,
            "admin.password_change" if only_secrets else "admin.change",
            obj,
            {"changes": changes, "message": message},
        )
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        """Audit ``admin.delete`` for each row, with its fields (called before deleting)."""
        for obj in queryset:
            self._record(
                request,
                "admin.delete",
                obj,
                {"object": str(obj), "fields": hidden(field_values(obj))},
            )
        return super().log_deletions(request, queryset)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        """Every action, audited as ``admin.action`` when it runs (see ``_audited_action``)."""
        # The stub allows None values; Django's get_actions gives (func, name, description).
        actions = cast("dict[str, tuple[Any, str, str]]", super().get_actions(request))
        return {
            name: (self._audited_action(func, name), name, description)
            for name, (func, _, description) in actions.items()
        }

    @staticmethod
    def _audited_action(func: Callable[..., Any], name: str) -> Callable[..., Any]:
        def run(modeladmin: "AuditedModelAdmin", request: HttpRequest, queryset: Any) -> Any:
            ids = [str(pk) for pk in queryset.values_list("pk", flat=True)]
            with transaction.atomic(using=router.db_for_write(modeladmin.model)):
                response = func(modeladmin, request, queryset)
                # A page in answer (delete_selected's confirmation) means nothing ran yet.
                if not isinstance(response, TemplateResponse):
                    modeladmin._record(
                        request,
                        "admin.action",
                        None,
                        {
                            "action": name,
                            "model": modeladmin.model._meta.label,
                            "object_ids": ids,
                        },
                    )
            return response

        run.__name__ = getattr(func, "__name__", name)
        return run


class ReadOnlyModelAdmin(AuditedModelAdmin):
    """Rows that change only through services (runs, orders, reports): view and search only.

    An edit here would skip the service's checks and its audit row; the pages and the API are
    where these change.
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never: services create these rows."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never: services change these rows."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never: the audit trail and the books refer to these rows."""
        return False


class AuditTrailAdmin(ReadOnlyModelAdmin):
    """An audit trail (``AuditEvent``, ``PlatformAuditEvent``): read-only, searchable."""

    list_display = ("created_at", "acting_username", "action", "object_type", "object_id")
    list_filter = ("action",)
    search_fields = ("action", "acting_username", "object_id")
