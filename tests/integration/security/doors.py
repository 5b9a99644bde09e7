"""Every door of a URLconf: its URL patterns (from the resolver) and its API operations (from the
OpenAPI schema drf-spectacular generates in-process), made concrete with a seeded firm's real ids.

Nothing here is a hand list of routes. The only tables are how an id parameter names an object
(the route segment before it, or the admin's ``<app_label>/<model_name>/``) and how a request
body field does; a new route or field whose id the seed cannot fill raises ``UnseededDoor``.
"""

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver

# Doors tried per category in this session (printed in the terminal summary by conftest.py).
TRIED: Counter[str] = Counter()

# The segment before an id parameter names the object (``accounts/<int:pk>/``).
SEGMENT_KINDS = {
    "accounts": "accounts.account",
    "models": "portfolio_models.modelportfolio",
    "versions": "model_version_number",
    "batches": "reports.reportbatch",
    "files": "reports.reportfile",
    "restrictions": "restrictions.restriction",
    "outside-holdings": "restrictions.outsideholding",
    "outside": "restrictions.outsideholding",
    "runs": "trading.rebalancerun",
    "proposals": "trading.proposal",
    "trade-files": "trading.tradefile",
    "orders": "trading.order",
    "users": "auth.user",
    "exports": "access.auditevent",
    "tokens": "access.apitoken",
    "securities": "security_symbol",
    "identical-groups": "accounts.identicalgroup",
    "index-opt-outs": "accounts.identicalindexoptout",
    "firms": "firms.firm",
}
# Request body fields (OpenAPI components) that carry ids, and what they name.
FIELD_KINDS = {
    "account": "accounts.account",
    "account_ids": "accounts.account",
    "scope_ids": "accounts.account",
    "household": "accounts.household",
    "proposal_ids": "trading.proposal",
    "model": "portfolio_models.modelportfolio",
}
# Public reference data every firm reads: naming it is not naming firm A's data.
SHARED_KINDS = frozenset({"security_symbol", "securities.security", "securities.price"})
# Regex groups of Django's admin that are not object ids.
_REGEX_FILLERS = {"url": "nowhere"}
AS_OF = "2024-06-28"
API_PREFIX = "/api/"


class UnseededDoorError(AssertionError):
    """A route or body field names an object the seed does not provide."""


@dataclass(frozen=True)
class Door:
    """One request: a method on a concrete path, with a body for API operations."""

    urlconf: str
    name: str
    method: str
    path: str
    path_kinds: frozenset[str] = frozenset()  # kinds of the ids put in the path
    body: dict[str, Any] | None = None
    body_kinds: frozenset[str] = frozenset()  # kinds of the ids put in the body
    is_multipart: bool = False

    @property
    def names_firm_objects(self) -> bool:
        """Whether the request names one of the seeded firm's own objects (path or body)."""
        return bool((self.path_kinds | self.body_kinds) - SHARED_KINDS)

    @property
    def path_names_firm_objects(self) -> bool:
        """Whether the path itself names one of the seeded firm's own objects."""
        return bool(self.path_kinds - SHARED_KINDS)

    @property
    def is_api(self) -> bool:
        return self.path.startswith(API_PREFIX)

    @property
    def is_admin(self) -> bool:
        return self.path.startswith("/admin/")

    def send(self, client: Any, host: str) -> Any:
        """Send the request with ``client`` to ``host``; a 500 comes back as a response."""
        client.raise_request_exception = False
        # A message ("… with ID 1020005 doesn't exist") shows on the next page: drop it, so
        # each response is judged on its own request.
        client.cookies.pop("messages", None)
        call = getattr(client, self.method)
        if self.body is None:
            return call(self.path, HTTP_HOST=host)
        if self.is_multipart:
            body = {
                k: SimpleUploadedFile("fills.csv", v) if isinstance(v, bytes) else v
                for k, v in self.body.items()
            }
            return call(self.path, body, HTTP_HOST=host)
        return call(
            self.path, json.dumps(self.body), content_type="application/json", HTTP_HOST=host
        )


@dataclass
class Seed:
    """A firm's real objects: ``ids`` by kind, and text that only that firm's data contains."""

    ids: dict[str, Any]
    markers: tuple[str, ...]
    files: dict[str, str] = field(default_factory=dict)  # what → storage name

    def value(self, kind: str, where: str) -> Any:
        if kind not in self.ids:
            raise UnseededDoorError(f"{where}: the seed has no object of kind {kind!r}")
        return self.ids[kind]

    def leaks(self, body: bytes, door: "Door", *, extra_markers: tuple[str, ...] = ()) -> list[str]:
        """The markers and ids of this seed found in a response body; the ids the request
        itself carried (echoed in a "not found") aside."""
        text = body.decode("utf-8", "replace").replace(door.path, "")
        found = [m for m in self.markers + extra_markers if m in text]
        sent = {self.ids[k] for k in door.path_kinds | door.body_kinds}
        for kind, value in self.ids.items():
            if kind in SHARED_KINDS or value in sent or not isinstance(value, int):
                continue
            if value >= ID_FLOOR and re.search(rf"(?<![\d.]){value}(?!\d)", text):
                found.append(f"{kind}={value}")
        return found


# Firm A's ids are moved above this (sequences are per schema), so they exist in no other firm.
ID_FLOOR = 1_000_000


def _admin_models() -> set[tuple[str, str]]:
    from apps.access.admin_sites import firm_admin_site, public_admin_site

    sites: list[admin.AdminSite] = [firm_admin_site, public_admin_site]
    return {(m._meta.app_label, m._meta.model_name or "") for s in sites for m in s._registry}


def kind_of(route: str, param: str) -> str:
    """What an id parameter of a route names (``accounts.account``, ``auth.user``, …).

    Raises:
        UnseededDoorError: the route's id parameter names nothing the doors know.
    """
    before = re.split(r"[<{](?:\w+:)?" + param + r"[>}]", route, maxsplit=1)[0]
    segments = [s for s in before.split("/") if s]
    if param == "content_type_id":
        return "content_type"
    if segments and segments[-1].startswith(("<", "{")):  # admin's r/<ct>/<object_id>/
        return "content_type_object"
    if len(segments) >= 2 and (segments[-2], segments[-1]) in _admin_models():
        return f"{segments[-2]}.{segments[-1]}"
    if segments and segments[-1] in SEGMENT_KINDS:
        return SEGMENT_KINDS[segments[-1]]
    raise UnseededDoorError(f"{route}: no object kind for id parameter <{param}>")


def _concrete(route: str, seed: Seed) -> tuple[str, frozenset[str]]:
    kinds: set[str] = set()

    def regex_group(match: re.Match[str]) -> str:
        name, pattern = match.group(1), match.group(2)
        if name in _REGEX_FILLERS:
            return _REGEX_FILLERS[name]
        return pattern.split("|")[0]  # app_label alternatives: any one is a real app

    def param(match: re.Match[str]) -> str:
        kind = kind_of(route, match.group(1))
        kinds.add(kind)
        return str(seed.value(kind, route))

    path = re.sub(r"\(\?P<(\w+)>([^)]*)\)", regex_group, route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", param, path)
    path = re.sub(r"\{(\w+)\}", param, path)
    path = path.replace("^", "").replace("$", "").replace("\\Z", "").replace("\\", "")
    return "/" + path.lstrip("/"), frozenset(kinds)


def url_patterns(urlconf: str) -> list[tuple[str, str]]:
    """Every (route, name) of a URLconf, includes and admin sites walked."""

    def walk(resolver: URLResolver, prefix: str, namespace: str) -> list[tuple[str, str]]:
        found = []
        for entry in resolver.url_patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                found += walk(entry, route, entry.namespace or namespace)
            elif isinstance(entry, URLPattern):
                name = entry.name or route
                found.append((route, f"{namespace}:{name}" if namespace else name))
        return found

    return walk(get_resolver(urlconf), "", "")


def firm_object_routes(urlconf: str) -> list[str]:
    """The routes with an id parameter naming a firm's (not shared) object."""
    return [
        route
        for route, _ in url_patterns(urlconf)
        if any(
            kind_of(route, param) not in SHARED_KINDS
            for param in re.findall(r"(?<!\?P)<(?:\w+:)?(\w+)>", route)
        )
    ]


def api_operations(urlconf: str) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """Every (path, method, operation, components) of the OpenAPI schema of a URLconf."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator(urlconf=urlconf).get_schema(request=None, public=True)
    components = schema.get("components", {}).get("schemas", {})
    return [
        (path, method, operation, components)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    ]


def _example(spec: dict[str, Any], name: str, components: dict[str, Any], seed: Seed) -> Any:
    """A value for one body field: the seed's id for id fields, a plausible value otherwise."""
    if "$ref" in spec:
        spec = components[spec["$ref"].rsplit("/", 1)[1]]
    if "allOf" in spec:
        return _example(spec["allOf"][0], name, components, seed)
    if name in FIELD_KINDS:
        value = seed.value(FIELD_KINDS[name], f"body field {name!r}")
        if spec.get("type") == "array":
            return [value]
        return str(value) if spec.get("type") == "string" else value
    if name.endswith(("_id", "_ids")):
        raise UnseededDoorError(f"body field {name!r}: no object kind (add it to FIELD_KINDS)")
    if "enum" in spec:
        return next(v for v in spec["enum"] if v is not None)
    kind, fmt = spec.get("type"), spec.get("format")
    if kind == "array":
        item = spec.get("items", {})
        return [] if item.get("type") == "object" else [_example(item, "", components, seed)]
    if kind == "integer":
        return spec.get("minimum", 1)
    if kind == "boolean":
        return True
    if kind == "object":
        return {}
    return {"date": AS_OF, "decimal": "0.01", "uri": None}.get(fmt, "AAA")


def _fills_file(seed: Seed) -> bytes:
    """A fills upload naming the firm's own allocation (the file field of fills imports)."""
    allocation = seed.value("trading.orderallocation", "fills file")
    return (
        "allocation_id,account_number,symbol,side,shares,price,trade_date\n"
        f"{allocation},QUOKKA-R1,AAA,buy,1,1.00,{AS_OF}\n"
    ).encode()


def _body(
    operation: dict[str, Any], components: dict[str, Any], seed: Seed
) -> tuple[dict[str, Any] | None, bool, set[str]]:
    content = operation.get("requestBody", {}).get("content", {})
    if not content:
        return None, False, set()
    media, spec = next(iter(content.items()))
    if "$ref" in spec["schema"]:
        spec = components[spec["schema"]["$ref"].rsplit("/", 1)[1]]
    body: dict[str, Any] = {}
    kinds: set[str] = set()
    for name, prop in spec.get("properties", {}).items():
        value = _example(prop, name, components, seed)
        if value is None:  # a file
            value = _fills_file(seed)
            kinds.add("trading.orderallocation")
        if name in FIELD_KINDS:
            kinds.add(FIELD_KINDS[name])
        body[name] = value
    return body, media.startswith("multipart/"), kinds


def doors(urlconf: str, seed: Seed, *, with_api: bool) -> list[Door]:
    """Every door of the URLconf with the seed's ids: each pattern GET and POST, and each API
    operation with its own method and a body built from its request schema.

    Logout doors come last, so a session survives until every other door was tried.
    """
    found: dict[tuple[str, str], Door] = {}
    for route, name in url_patterns(urlconf):
        path, kinds = _concrete(route, seed)
        for method in ("get", "post"):
            found[(method, path)] = Door(urlconf, name, method, path, kinds)
    if with_api:
        for api_path, method, operation, components in api_operations(urlconf):
            path, kinds = _concrete(api_path, seed)
            body, multipart, body_kinds = _body(operation, components, seed)
            name = found[("get", path)].name  # the URL name, as for the pattern's own doors
            found[(method, path)] = Door(
                urlconf, name, method, path, kinds, body, frozenset(body_kinds), multipart
            )
    return sorted(found.values(), key=lambda d: ("logout" in d.name, d.path, d.method))
