"""schemathesis against the firm API's OpenAPI schema, in process, on firm A's host.

Every operation of the served schema gets a bounded number of generated requests (schema-valid
path, query, headers and bodies) as firm A's admin, over a book with real objects (accounts, a
model, a finished run with proposals, orders, a trade file, a restriction, an outside holding, a
report batch): half of the examples of an operation with path parameters use those objects' ids.
Each response must not be a 5xx, must have a documented status code and content type, and its
body must match the documented schema.

The app is called through Django's WSGI handler (schemathesis' WSGI transport), inside the
test's transaction: everything the fuzzer writes is rolled back.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.access.roles import Role
from apps.accounts.services.identical import identical_group_create
from apps.reports.models import ReportFile, ReportKind
from apps.reports.services.batches import (
    report_batch_chunk_execute,
    report_batch_create,
    report_batch_start,
)
from apps.restrictions.models import RestrictionKind
from apps.restrictions.services import outside_holding_set, restriction_add
from apps.trading.models import Proposal, ProposalStatus
from apps.trading.services.orders import orders_create_from_approved
from apps.trading.services.review import proposals_decide
from apps.trading.services.trade_files import trade_file_generate
from tests.conftest import api_client, api_token_key
from tests.integration.reports.conftest import run_model
from tests.integration.trading.conftest import (  # noqa: F401 - fixtures
    AS_OF,
    priced_universe,
    run_book,
)

# Generated requests per operation (hypothesis examples): 50 operations x 20 stays well under a
# minute on two cores.
MAX_EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _positive_data_acceptance(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis' check, except for a 400 a business rule gave (``ApiErrorOutput``).

    A schema cannot say that a model has no version in force on a given ``as_of``, or that the
    report's year must not follow its ``as_of``; such refusals carry a ``code`` (an app's error
    enum). A field error (the parser refusing what the schema allows) still fails the check.
    """
    if response.status_code == 400 and {"code", "message"} <= set(response.json()):
        return None
    return positive_data_acceptance(ctx, response, case)


# The CLI's --checks all, with positive_data_acceptance as above.
ALL_CHECKS = [
    _positive_data_acceptance if check is positive_data_acceptance else check
    for check in REGISTERED_CHECKS.get_all()
]


@contextmanager
def _connection_kept_across_requests() -> Iterator[None]:
    """Keep the test's connection (and its open transaction) across in-process requests.

    Django closes "old" connections when a request starts and finishes; inside the test's
    transaction that would drop it. Django's own test client detaches the same receivers.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_book(firms, run_book) -> dict[str, Any]:  # noqa: F811 - the trading fixture
    """Real objects behind every kind of path parameter: their values by parameter name."""
    admin = firms["a"].users[Role.FIRM_ADMIN]
    proposals = run_model(run_book["model"])
    pending = [p.pk for p in proposals if p.status == ProposalStatus.PENDING_APPROVAL]
    proposals_decide(proposal_ids=pending, approve=True, acting_user=admin)
    orders_create_from_approved(acting_user=admin)
    trade_file = trade_file_generate(custodian="schwab", layout="generic", acting_user=admin)
    legacy = run_book["legacy"]
    restriction = restriction_add(
        kind=RestrictionKind.NEVER_BUY,
        value="BBB",
        starts_on=date(2024, 1, 1),
        account=legacy,
        acting_user=admin,
    )
    holding = outside_holding_set(
        exposure_key="AAA", account=legacy, amount=Decimal("1000"), acting_user=admin
    )
    batch = report_batch_create(
        kind=ReportKind.CLIENT,
        year=AS_OF.year,
        as_of=AS_OF,
        account_ids=[legacy.pk],
        requested_by=admin,
        enqueue=False,
    )
    for chunk in report_batch_start(batch_id=batch.pk, enqueue=False):
        report_batch_chunk_execute(batch_id=batch.pk, chunk=chunk)
    proposal = Proposal.objects.filter(account=legacy).get()
    identical = identical_group_create(
        symbols=["GGG", "HHH"], reason="fuzz", source="fuzz", acting_user=admin
    )
    from apps.access.services import api_token_create

    spare_token, _ = api_token_create(user=admin, name="fuzz spare", acting_user=admin)
    return {
        "id": {  # by the path prefix that names the collection
            "/api/v1/auth/tokens/": spare_token.pk,
            "/api/v1/accounts/": legacy.pk,
            "/api/v1/models/": run_book["model"].pk,
            "/api/v1/runs/": proposal.run_id,
            "/api/v1/proposals/": proposal.pk,
            "/api/v1/trade-files/": trade_file.pk,
            "/api/v1/orders/": trade_file.orders.first().pk,
            "/api/v1/restrictions/": restriction.pk,
            "/api/v1/identical-groups/": identical.pk,
            "/api/v1/reports/batches/": batch.pk,
            "/api/v1/reports/files/": ReportFile.objects.get(batch=batch).pk,
            "/api/v1/users/": admin.pk,
        },
        "holding_id": holding.pk,
        "number": 1,
        "symbol": "AAA",
    }


def _real_path_parameters(path: str, book: dict[str, Any]) -> dict[str, Any]:
    """Path parameters naming objects of ``fuzz_book`` for one operation's path template."""
    params = {name: value for name, value in book.items() if f"{{{name}}}" in path}
    if "{id}" in path:
        params["id"] = next(pk for prefix, pk in book["id"].items() if path.startswith(prefix))
    return params


def _exercise(strategy: st.SearchStrategy, send: Callable[[Any], None]) -> None:
    """Send ``MAX_EXAMPLES`` generated cases (reproducible: derandomized, no shrinking)."""

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        send(case)

    run()


def _fuzz(firms, book, *, modes, checks, select=lambda operation: True) -> None:
    """Send generated requests to the selected operations; fail with every check that failed."""
    client = api_client(firms["a"], Role.FIRM_ADMIN)
    response = client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = schemathesis.openapi.from_dict(response.json())
    schema.app = WSGIHandler()
    token = api_token_key(firms["a"], Role.FIRM_ADMIN)
    headers = {"Authorization": f"Token {token}"}
    base_url = f"http://{firms['a'].host}"

    operations = [r.ok() for r in schema.get_all_operations() if select(r.ok())]
    statuses: dict[str, Counter[int]] = {}
    failures: list[str] = []
    for operation, mode in ((o, m) for o in operations for m in modes):
        strategy = operation.as_strategy(generation_mode=mode)
        real = _real_path_parameters(operation.path, book)
        if real:
            strategy = st.one_of(
                strategy, operation.as_strategy(generation_mode=mode, path_parameters=real)
            )

        def send(case, label=operation.label):
            response = case.call(base_url=base_url, headers=headers)
            statuses.setdefault(label, Counter())[response.status_code] += 1
            case.validate_response(
                response, checks=checks, headers=headers, transport_kwargs={"base_url": base_url}
            )

        try:
            with _connection_kept_across_requests():
                _exercise(strategy, send)
        except (Exception, FailureGroup) as exc:  # every operation is tried; all are reported
            failures.append(f"{operation.label} ({mode}): {exc}")
    for label, counts in statuses.items():
        print(f"{label}: {dict(sorted(counts.items()))}")
    requests = sum(map(Counter.total, statuses.values()))
    print(f"operations: {len(operations)}, requests: {requests}")
    server_errors = sum(n for c in statuses.values() for code, n in c.items() if code >= 500)
    print(f"server errors: {server_errors}")
    assert operations
    assert len(statuses) == len(operations)
    assert not failures, "\n\n".join(failures)


def test_every_api_operation_answers_within_its_schema(firms, firm_a, fuzz_book):
    _fuzz(firms, fuzz_book, modes=[GenerationMode.POSITIVE], checks=CHECKS)


def _has_query_parameters(operation: Any) -> bool:
    return any(p.location == ParameterLocation.QUERY for p in operation.iter_parameters())


def test_operations_with_query_parameters_pass_every_check(firms, firm_a, fuzz_book):
    """Every check schemathesis has (``--checks all``), valid and invalid inputs alike.

    List filters are documented from the views' ``filters_class`` (``apps.common.api``), so
    every filter and the pagination bounds are generated here, and out-of-schema values must be
    refused with a 4xx.
    """
    _fuzz(
        firms,
        fuzz_book,
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        checks=ALL_CHECKS,
        select=_has_query_parameters,
    )


def test_unrouted_api_urls_answer_json_404_and_pages_html(firms, db):
    client = api_client(firms["a"], Role.FIRM_ADMIN)
    api = client.get("/api/v1/accounts/-1/")
    assert (api.status_code, api.json()) == (404, {"detail": "Not found."})
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")


def test_unrouted_api_urls_answer_json_404_with_debug_on(firms, db, settings):
    """The demo runs with DEBUG on: Django's HTML debug page must not answer API clients."""
    settings.DEBUG = True
    client = api_client(firms["a"], Role.FIRM_ADMIN)
    for url in ("/api/v1/no-such-thing/", "/api/v2/accounts/", "/api/v1/accounts/-1/"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}, url
    bare = client.get("/api/v1/accounts")
    assert (bare.status_code, bare.json()["hint"]) == (404, "API URLs end with a slash")
    wrong_method = client.put("/api/v1/accounts/", {})
    assert wrong_method.status_code == 405
    assert wrong_method["Content-Type"].startswith("application/json")


def test_unrouted_api_urls_answer_json_404_to_any_method_without_csrf(firms, db):
    """A form-encoded PUT to an id no route takes (``-5``) is a 404, not the CSRF failure page."""
    from rest_framework.test import APIClient

    client = APIClient(HTTP_HOST=firms["a"].host, enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_key(firms['a'], Role.FIRM_ADMIN)}")
    response = client.put(
        "/api/v1/identical-groups/-5/", "name=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_the_symbol_path_parameter_documents_its_pattern(firms, db):
    """Generated symbols keep to the master's pattern; one outside it is a 404 or, holding a
    control character, a 400 (the input guard), both documented."""
    client = api_client(firms["a"], Role.VIEWER)
    assert client.get("/api/v1/securities/Q%C2%B7K/").status_code == 404
    assert client.get("/api/v1/securities/Q%13K/").status_code == 400
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    parameters = schema["paths"]["/api/v1/securities/{symbol}/"]["get"]["parameters"]
    (symbol,) = [p for p in parameters if p["name"] == "symbol"]
    assert symbol["schema"]["pattern"] == r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,15}$"
