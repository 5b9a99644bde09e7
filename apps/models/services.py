"""Model portfolios: create, describe, version (immutable, validated), assign; all audited."""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from apps.access.services import audit_event_record, object_fields_update
from apps.common.exceptions import ApplicationError, ConflictError
from apps.common.tenancy import require_tenant_schema
from apps.common.validation import full_clean_or_error
from apps.models.csv_io import targets_csv_parse
from apps.models.errors import ModelsErrorCode
from apps.models.models import ModelPortfolio, ModelTarget, ModelVersion
from apps.models.selectors import sleeve_graph_get
from apps.securities.selectors import security_map_get
from apps.targets import sleeve_cycle
from apps.targets.flatten import exact_sum

ONE = Decimal(1)
WEIGHT_PLACES = 8  # common.money.WEIGHT: (9, 8)
# How closely the model's accounts follow it (the optimizer reads them at every run).
MODEL_TRACKING_FIELDS = ("tracking_error_target_rate", "name_band_rate", "sector_band_weight")
MODEL_FIELDS = ("name", "description", "provider", "fee_bps", "is_active", *MODEL_TRACKING_FIELDS)


def _validated(obj: Any) -> None:
    full_clean_or_error(obj, code=ModelsErrorCode.INVALID)


@transaction.atomic
def model_create(
    *,
    code: str,
    name: str,
    acting_user: User | None,
    description: str = "",
    provider: str = "",
    fee_bps: Decimal = Decimal("0"),
    tracking_error_target_rate: Decimal | None = None,
    name_band_rate: Decimal | None = None,
    sector_band_weight: Decimal | None = None,
) -> ModelPortfolio:
    """Create a model (no version yet: add one with ``model_version_create``).

    The tracking error target and the drift bands are fractions (None: none); the model's
    validators refuse values out of range.

    Raises:
        ConflictError: the code is taken in this firm.
        ApplicationError: an invalid field.
    """
    require_tenant_schema()
    code = code.strip().upper()
    if ModelPortfolio.objects.filter(code=code).exists():
        raise ConflictError(f"model {code} exists", code=ModelsErrorCode.INVALID)
    tracking = {
        "tracking_error_target_rate": tracking_error_target_rate,
        "name_band_rate": name_band_rate,
        "sector_band_weight": sector_band_weight,
    }
    model = ModelPortfolio(
        code=code,
        name=name,
        description=description,
        provider=provider,
        fee_bps=fee_bps,
        **tracking,
    )
    _validated(model)
    model.save()
    audit_event_record(
        action="model.create",
        acting_user=acting_user,
        obj=model,
        payload={
            "code": code,
            "provider": provider,
            "fee_bps": str(fee_bps),
            **{k: None if v is None else str(v) for k, v in tracking.items()},
        },
    )
    return model


def model_update(
    *, model: ModelPortfolio, changes: Mapping[str, Any], acting_user: User
) -> ModelPortfolio:
    """Change a model's description fields (never its targets: those are versions)."""
    return object_fields_update(  # type: ignore[no-any-return]
        obj=model,
        changes=changes,
        allowed=MODEL_FIELDS,
        action="model.update",
        acting_user=acting_user,
        code=ModelsErrorCode.INVALID,
    )


def _check_weight(label: str, weight: Decimal, errors: dict[str, str]) -> None:
    if not weight.is_finite() or weight < 0 or weight > ONE:
        errors[label] = "weight must be a fraction between 0 and 1"
    elif weight != weight.quantize(Decimal(1).scaleb(-WEIGHT_PLACES)):
        errors[label] = f"weight has more than {WEIGHT_PLACES} decimal places"


@transaction.atomic
def model_version_create(
    *,
    model: ModelPortfolio,
    effective_on: date,
    cash_weight: Decimal,
    security_weights: Mapping[str, Decimal],
    acting_user: User | None,
    sleeve_weights: Mapping[str, Decimal] | None = None,
    note: str = "",
) -> ModelVersion:
    """Create the model's next version (immutable); its accounts follow it from ``effective_on``.

    Args:
        model: the model.
        effective_on: first date the version is in force; not before the latest version's.
        cash_weight: the cash target (fraction).
        security_weights: symbol -> weight (fractions, at most 8 decimal places).
        acting_user: who creates it (audited).
        sleeve_weights: code of another model of the firm -> weight.
        note: why the model changed.

    Raises:
        ApplicationError: negative or over-precise weights, weights + cash != 1 exactly,
            symbols unknown to the security master, unknown sleeves or sleeves with no
            version, a sleeve cycle, or an effective date before the latest version's.
    """
    require_tenant_schema()
    model = ModelPortfolio.objects.select_for_update().get(pk=model.pk)
    securities = {s.strip().upper(): w for s, w in security_weights.items()}
    sleeves = {c.strip().upper(): w for c, w in (sleeve_weights or {}).items()}
    errors: dict[str, str] = {}
    _check_weight("CASH", cash_weight, errors)
    for label, weight in [*securities.items(), *((f"model:{c}", w) for c, w in sleeves.items())]:
        _check_weight(label, weight, errors)
    if errors:
        raise ApplicationError(
            "invalid weights", code=ModelsErrorCode.INVALID, extra={"targets": errors}
        )
    total = exact_sum([cash_weight, *securities.values(), *sleeves.values()])
    if total != ONE:
        raise ApplicationError(
            f"targets and cash sum to {total}, not exactly 1",
            code=ModelsErrorCode.WEIGHTS_SUM,
            extra={"sum": str(total)},
        )
    known = security_map_get(symbols=securities)
    unknown = sorted(set(securities) - set(known))
    if unknown:
        raise ApplicationError(
            f"not in the security master: {', '.join(unknown)}",
            code=ModelsErrorCode.UNKNOWN_SYMBOL,
            extra={"symbols": unknown},
        )
    sleeve_models = {m.code: m for m in ModelPortfolio.objects.filter(code__in=sleeves)}
    missing = sorted(set(sleeves) - set(sleeve_models))
    if missing:
        raise ApplicationError(
            f"unknown models: {', '.join(missing)}",
            code=ModelsErrorCode.UNKNOWN_MODEL,
            extra={"models": missing},
        )
    versionless = sorted(c for c, m in sleeve_models.items() if not m.versions.exists())
    if versionless:
        raise ApplicationError(
            f"sleeves without a version: {', '.join(versionless)}",
            code=ModelsErrorCode.NO_VERSION,
            extra={"models": versionless},
        )
    # Sleeves follow their current version, and any version may become current: refuse a
    # cycle through the sleeves of every version, past or future, not only today's.
    graph = sleeve_graph_get()
    graph[model.code] = graph.get(model.code, set()) | set(sleeves)
    cycle = sleeve_cycle(model.code, graph)
    if cycle is not None:
        raise ApplicationError(
            "sleeve cycle: " + " -> ".join(cycle),
            code=ModelsErrorCode.CYCLE,
            extra={"path": list(cycle)},
        )
    latest = model.versions.order_by("-number").first()
    if latest is not None and effective_on < latest.effective_on:
        raise ApplicationError(
            f"effective date {effective_on} is before version {latest.number}'s "
            f"({latest.effective_on}): history is not rewritten",
            code=ModelsErrorCode.INVALID,
        )
    version = ModelVersion(
        model=model,
        number=(latest.number + 1) if latest is not None else 1,
        effective_on=effective_on,
        cash_weight=cash_weight,
        note=note,
        created_by=acting_user,
    )
    _validated(version)
    version.save()
    ModelTarget.objects.bulk_create(
        [ModelTarget(version=version, symbol=s, weight=w) for s, w in sorted(securities.items())]
        + [
            ModelTarget(version=version, sleeve=sleeve_models[c], weight=w)
            for c, w in sorted(sleeves.items())
        ]
    )
    audit_event_record(
        action="model_version.create",
        acting_user=acting_user,
        obj=version,
        payload={
            "model": model.code,
            "number": version.number,
            "effective_on": effective_on.isoformat(),
            "cash_weight": str(cash_weight),
            "targets": {s: str(w) for s, w in sorted(securities.items())}
            | {f"model:{c}": str(w) for c, w in sorted(sleeves.items())},
            "note": note,
        },
    )
    return version


def model_version_import_csv(
    *,
    model: ModelPortfolio,
    effective_on: date,
    csv_text: str,
    acting_user: User | None,
    note: str = "",
) -> ModelVersion:
    """Create a version from ``symbol_or_model,weight`` CSV (see ``csv_io``), whole or not at all.

    A bare name that is a model code of this firm and not a security symbol is a sleeve.
    """
    parsed = targets_csv_parse(csv_text)
    securities = dict(parsed.security_weights)
    sleeves = dict(parsed.sleeve_weights)
    bare = parsed.bare_names
    if bare:
        codes = set(ModelPortfolio.objects.filter(code__in=bare).values_list("code", flat=True))
        symbols = set(security_map_get(symbols=bare))
        for name in sorted(codes - symbols):
            sleeves[name] = securities.pop(name)
        both = sorted(codes & symbols)
        if both:
            raise ApplicationError(
                f"ambiguous: {', '.join(both)} is a symbol and a model; write model:<CODE>",
                code=ModelsErrorCode.CSV_INVALID,
                extra={"names": both},
            )
    return model_version_create(
        model=model,
        effective_on=effective_on,
        cash_weight=parsed.cash_weight,
        security_weights=securities,
        sleeve_weights=sleeves,
        note=note,
        acting_user=acting_user,
    )


@transaction.atomic
def model_assign(*, account: Any, model: ModelPortfolio | None, acting_user: User) -> Any:
    """Set (or clear, with None) the model an account follows; audited with before/after.

    ``account`` is an ``accounts.Account``; it is typed ``Any`` because accounts sits above
    portfolio_models in the layers (import-linter) and this module must not import it.
    Returns the account as re-read under the row lock (use it, not the argument).

    Raises:
        ApplicationError: the model is inactive or has no version yet.
    """
    require_tenant_schema()
    if model is not None:
        if not model.is_active:
            raise ApplicationError(f"model {model.code} is inactive", code=ModelsErrorCode.INACTIVE)
        if not model.versions.exists():
            raise ApplicationError(
                f"model {model.code} has no version yet", code=ModelsErrorCode.NO_VERSION
            )
    account = type(account).objects.select_for_update().get(pk=account.pk)
    before = account.model.code if account.model is not None else None
    after = model.code if model is not None else None
    if before != after:
        account.model = model
        account.save(update_fields=["model"])
        audit_event_record(
            action="account.model_assign",
            acting_user=acting_user,
            obj=account,
            payload={"before": before, "after": after},
        )
    return account
