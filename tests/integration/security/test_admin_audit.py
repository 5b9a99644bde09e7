"""Every change through either admin site writes an audit row; the admin gives no role the users
page refuses.

The firm's admin writes ``AuditEvent`` rows in the firm's schema, the platform's admin
``PlatformAuditEvent`` rows in ``public``. Forms are filled as a browser would: the change page
is fetched and its form posted back (``_form_data``).
"""

from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.test import Client, RequestFactory
from django_tenants.utils import schema_context

from apps.access.admin_audit import AuditedModelAdmin
from apps.access.admin_sites import firm_admin_site, public_admin_site
from apps.access.models import AuditEvent, Membership
from apps.access.roles import Role
from apps.access.services import firm_user_set_role
from apps.common.exceptions import ApplicationError
from apps.firms.models import PlatformAuditEvent
from tests.conftest import PASSWORD, login_client
from tests.integration.security.doors import Seed


class _FormScraper(HTMLParser):
    """The fields a browser would submit from the page's ``<form id="…_form">``."""

    def __init__(self) -> None:
        super().__init__()
        self.data: list[tuple[str, str]] = []
        self._in_form = False
        self._select: tuple[str, bool, list[str], list[str]] | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._in_form = a.get("id", "").endswith("_form")
        if not self._in_form or ("name" not in a and tag != "option"):
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file", "image"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.data.append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select":
            self._select = (a["name"], "multiple" in a, [], [])
        elif tag == "option" and self._select is not None:
            self._select[2].append(a.get("value", ""))
            if "selected" in a:
                self._select[3].append(a.get("value", ""))
        elif tag == "textarea":
            self._textarea = a["name"]
            self.data.append((a["name"], ""))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            name, text = self.data.pop()
            self.data.append((name, text + data))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select is not None:
            name, multiple, options, selected = self._select
            if not selected and not multiple and options:
                selected = options[:1]  # a browser submits the first option
            self.data.extend((name, value) for value in selected)
            self._select = None


def _form_data(client: Client, url: str) -> dict[str, list[str]]:
    page = client.get(url)
    assert page.status_code == 200, url
    scraper = _FormScraper()
    scraper.feed(page.content.decode())
    data: dict[str, list[str]] = {}
    for name, value in scraper.data:
        data.setdefault(name, []).append(value)
    return data


def _walk_site(site: admin.AdminSite, ids: dict[str, int], client: Client, user: Any, events: Any):
    """Save and delete every registered row the site lets ``user`` change or delete.

    Returns:
        What was done, by model label; each one must have left its audit row.
    """
    request = RequestFactory().get("/admin/")
    request.user = user
    done: dict[str, list[str]] = {}
    for model, model_admin in site._registry.items():
        label = model._meta.label_lower
        obj = model._default_manager.get(pk=ids[label])
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/{obj.pk}/"
        done[label] = []
        # Each model's writes are rolled back, so one model's delete leaves the next one's row.
        with transaction.atomic():
            if model_admin.has_change_permission(request, obj):
                response = client.post(f"{url}change/", _form_data(client, f"{url}change/"))
                assert response.status_code == 302, (label, response.content.decode()[:3000])
                assert events.filter(action="admin.change", object_id=str(obj.pk)).exists(), label
                done[label].append("change")
            if model_admin.has_delete_permission(request, obj):
                response = client.post(f"{url}delete/", {"post": "yes"})
                deleted = not model._default_manager.filter(pk=obj.pk).exists()
                audited = events.filter(action="admin.delete", object_id=str(obj.pk)).exists()
                assert deleted == audited, label
                done[label].append("delete" if deleted else "delete refused")
            transaction.set_rollback(True)
    return done


def test_every_registration_audits_its_changes():
    for site in (firm_admin_site, public_admin_site):
        for model, model_admin in site._registry.items():
            assert isinstance(model_admin, AuditedModelAdmin), (site.name, model)
    with pytest.raises(ImproperlyConfigured):
        firm_admin_site.register(PlatformAuditEvent, admin.ModelAdmin)
    with pytest.raises(ImproperlyConfigured):
        public_admin_site.register(PlatformAuditEvent)


def test_every_change_through_the_firm_admin_is_audited(seed: Seed, firms: Any) -> None:
    client = login_client(firms["a"], Role.FIRM_ADMIN)
    admin_user = firms["a"].users[Role.FIRM_ADMIN]
    done = _walk_site(firm_admin_site, seed.ids, client, admin_user, AuditEvent.objects)
    print("firm admin writes, audited:", done)
    assert set(done) == {m._meta.label_lower for m in firm_admin_site._registry}
    assert sum(len(v) for v in done.values()) >= 8


def test_every_change_through_the_platform_admin_is_audited(
    public_seed: Seed, firms: Any, staff: Any
) -> None:
    client = Client(HTTP_HOST="localhost")
    client.force_login(staff)
    done = _walk_site(public_admin_site, public_seed.ids, client, staff, PlatformAuditEvent.objects)
    print("platform admin writes, audited:", done)
    assert "change" in done["firms.firm"]
    assert "change" in done["securities.security"]


def test_account_rate_change_is_audited_with_before_and_after(seed: Seed, firms: Any) -> None:
    client = login_client(firms["a"], Role.FIRM_ADMIN)
    pk = seed.ids["accounts.account"]
    url = f"/admin/accounts/account/{pk}/change/"
    form = _form_data(client, url)
    refused = client.post(url, {**form, "short_term_rate": ["1.5"]})
    assert refused.status_code == 200  # the model's rule (a fraction below 1) holds in the admin
    assert not AuditEvent.objects.filter(action="admin.change", object_id=str(pk)).exists()
    assert client.post(url, {**form, "short_term_rate": ["0.99"]}).status_code == 302
    event = AuditEvent.objects.get(action="admin.change", object_id=str(pk))
    assert event.object_type == "accounts.Account"
    assert event.acting_username == "firm_admin@firm-a.test"
    assert event.payload["changes"] == {
        "short_term_rate": {"before": "0.37000000", "after": "0.99000000"}
    }


def test_admin_gives_no_role_the_users_page_refuses(firms: Any, firm_a: Any) -> None:
    # A copy: the session's user object must keep its state for the next tests.
    viewer = get_user_model().objects.get(pk=firms["a"].users[Role.VIEWER].pk)
    membership = Membership.objects.get(user=viewer)
    client = login_client(firms["a"], Role.FIRM_ADMIN)
    url = f"/admin/access/membership/{membership.pk}/change/"
    refused = client.post(url, {"role": "platform_staff"})
    assert refused.status_code == 200
    assert "platform_staff is not one of the available choices" in refused.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER
    assert client.post(url, {"role": "firm_admin"}).status_code == 302
    viewer.refresh_from_db()
    assert (Membership.objects.get(user=viewer).role, viewer.is_staff) == ("firm_admin", True)
    set_role = AuditEvent.objects.get(action="user.set_role", object_id=str(viewer.pk))
    assert set_role.payload == {"before": "viewer", "after": "firm_admin"}
    change = AuditEvent.objects.get(action="admin.change", object_id=str(membership.pk))
    assert change.payload["changes"] == {"role": {"before": "viewer", "after": "firm_admin"}}
    # The one place both doors use: the service refuses what neither form offers.
    admin_user = firms["a"].users[Role.FIRM_ADMIN]
    with pytest.raises(ApplicationError, match="sub-advisory entry"):
        firm_user_set_role(user=viewer, role=Role.PLATFORM_STAFF, acting_user=admin_user)


def test_outside_holding_delete_and_bulk_delete_are_audited(seed: Seed, firms: Any) -> None:
    from apps.accounts.models import Account
    from apps.restrictions.models import OutsideHolding
    from apps.restrictions.services import outside_holding_set

    client = login_client(firms["a"], Role.FIRM_ADMIN)
    pk = seed.ids["restrictions.outsideholding"]
    assert client.post(f"/admin/restrictions/outsideholding/{pk}/delete/", {"post": "yes"})
    event = AuditEvent.objects.get(action="admin.delete", object_id=str(pk))
    assert event.payload["fields"]["exposure_key"] == "symbol:AAA"

    admin_user = firms["a"].users[Role.FIRM_ADMIN]
    account = Account.objects.get(pk=seed.ids["accounts.account"])
    holdings = [
        outside_holding_set(
            exposure_key=key, acting_user=admin_user, account=account, amount=Decimal("100")
        )
        for key in ("BBB", "CCC")
    ]
    ids = [str(h.pk) for h in holdings]
    changelist = "/admin/restrictions/outsideholding/"
    body = {"action": "delete_selected", "_selected_action": ids}
    assert client.post(changelist, body).status_code == 200  # the confirmation page
    assert not AuditEvent.objects.filter(action="admin.action").exists()
    assert client.post(changelist, {**body, "post": "yes"}).status_code == 302
    assert not OutsideHolding.objects.filter(pk__in=ids).exists()
    action = AuditEvent.objects.get(action="admin.action")
    assert action.payload == {
        "action": "delete_selected",
        "model": "restrictions.OutsideHolding",
        "object_ids": sorted(ids, key=int),
    }
    deleted = AuditEvent.objects.filter(action="admin.delete", object_id__in=ids)
    assert deleted.count() == 2


@pytest.mark.parametrize("site", ["firm", "platform"])
def test_password_change_through_the_admin_is_audited_without_the_hash(
    firms: Any, db: None, site: str
) -> None:
    user_model = get_user_model()
    if site == "firm":
        connection.set_tenant(firms["a"].firm)
        client = login_client(firms["a"], Role.FIRM_ADMIN)
        target = user_model.objects.create_user(username="pw-viewer", password=PASSWORD)
        events = AuditEvent.objects
    else:
        actor = user_model.objects.create_user(
            username="pw-staff", password=PASSWORD, is_staff=True, is_superuser=True
        )
        target = user_model.objects.create_user(username="other-staff", password=PASSWORD)
        client = Client(HTTP_HOST="localhost")
        client.force_login(actor)
        events = PlatformAuditEvent.objects
    old_hash = target.password
    response = client.post(
        f"/admin/auth/user/{target.pk}/password/",
        {
            "password1": "Brand-new-pass-77",
            "password2": "Brand-new-pass-77",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    target.refresh_from_db()
    assert target.check_password("Brand-new-pass-77")
    event = events.get(action="admin.password_change", object_id=str(target.pk))
    assert event.payload["changes"] == {"password": {"before": "(hidden)", "after": "(hidden)"}}
    text = str(event.payload)
    assert old_hash not in text
    assert target.password not in text
    assert "scrypt" not in text
    assert "pbkdf2" not in text


def test_platform_audit_rows_are_refused_in_a_firm_schema(firms: Any, db: None) -> None:
    from apps.common.exceptions import TenantContextError
    from apps.firms.services import platform_audit_event_record

    with schema_context(firms["a"].schema), pytest.raises(TenantContextError):
        platform_audit_event_record(action="admin.change", acting_user=None)
