"""Reads of model portfolios: lists, versions, the current version, flattened targets."""

from datetime import date

from django.db.models import Count, Prefetch, Q, QuerySet

from apps.common.exceptions import ApplicationError
from apps.models.csv_io import targets_csv_write
from apps.models.errors import ModelsErrorCode
from apps.models.models import ModelPortfolio, ModelTarget, ModelVersion
from apps.targets import FlatTarget, ModelCycleError, ModelSpec, UnknownModelError, flatten_model


def model_list(*, search: str = "", include_inactive: bool = True) -> QuerySet[ModelPortfolio]:
    """The firm's models with their version counts, by code."""
    models = ModelPortfolio.objects.annotate(version_count=Count("versions"))
    if search:
        models = models.filter(Q(code__icontains=search) | Q(name__icontains=search))
    if not include_inactive:
        models = models.filter(is_active=True)
    return models.order_by("code")


def _with_targets(versions: QuerySet[ModelVersion]) -> QuerySet[ModelVersion]:
    return versions.select_related("model", "created_by").prefetch_related(
        Prefetch("targets", queryset=ModelTarget.objects.select_related("sleeve"))
    )


def model_version_list(*, model: ModelPortfolio) -> QuerySet[ModelVersion]:
    """Every version of a model, newest first, with targets and sleeves prefetched."""
    return _with_targets(ModelVersion.objects.filter(model=model)).order_by("-number")


def model_version_get(*, model: ModelPortfolio, number: int) -> ModelVersion | None:
    """One version of a model by number, or None."""
    return _with_targets(ModelVersion.objects.filter(model=model, number=number)).first()


def _current(versions: QuerySet[ModelVersion], as_of: date) -> QuerySet[ModelVersion]:
    # The version in force: the latest effective date on or before as_of; a same-day
    # correction (a higher number with the same date) wins.
    return versions.filter(effective_on__lte=as_of).order_by("-effective_on", "-number")


def model_current_version(*, model: ModelPortfolio, as_of: date) -> ModelVersion | None:
    """The version of the model in force on ``as_of`` (None before its first version)."""
    return _with_targets(_current(ModelVersion.objects.filter(model=model), as_of)).first()


def model_specs_get(*, codes: set[str], as_of: date) -> dict[str, ModelSpec]:
    """Current versions on ``as_of`` of the models and, recursively, of their sleeves.

    One query per level of nesting. Models with no version in force are absent.
    """
    specs: dict[str, ModelSpec] = {}
    asked: set[str] = set()
    wanted = set(codes)
    while wanted:
        asked |= wanted
        versions = (
            _current(ModelVersion.objects.filter(model__code__in=wanted), as_of)
            .order_by("model_id", "-effective_on", "-number")
            .distinct("model_id")
            .select_related("model")
            .prefetch_related(
                Prefetch("targets", queryset=ModelTarget.objects.select_related("sleeve"))
            )
        )
        for version in versions:
            targets = list(version.targets.all())
            specs[version.model.code] = ModelSpec(
                code=version.model.code,
                cash_weight=version.cash_weight,
                security_weights={t.symbol: t.weight for t in targets if t.sleeve is None},
                sleeve_weights={t.sleeve.code: t.weight for t in targets if t.sleeve is not None},
            )
        children = {c for spec in specs.values() for c in spec.sleeve_weights}
        wanted = children - asked
    return specs


def model_flatten(*, model: ModelPortfolio, as_of: date) -> FlatTarget:
    """The model's per-security weights and cash on ``as_of``, sleeves flattened recursively.

    Each sleeve follows its own current version on ``as_of``.

    Raises:
        ApplicationError: ``NO_VERSION`` (the model or a sleeve has no version in force) or
            ``CYCLE`` (refused at version creation, so only after a data repair gone wrong).
    """
    specs = model_specs_get(codes={model.code}, as_of=as_of)
    try:
        return flatten_model(model.code, specs)
    except UnknownModelError as exc:
        raise ApplicationError(
            str(exc), code=ModelsErrorCode.NO_VERSION, extra={"model": exc.code}
        ) from exc
    except ModelCycleError as exc:
        raise ApplicationError(
            str(exc), code=ModelsErrorCode.CYCLE, extra={"path": list(exc.path)}
        ) from exc


def sleeve_graph_get() -> dict[str, set[str]]:
    """Model code -> codes of every model any of its versions (past or future) holds as a sleeve."""
    graph: dict[str, set[str]] = {}
    rows = ModelTarget.objects.filter(sleeve__isnull=False).values_list(
        "version__model__code", "sleeve__code"
    )
    for parent, child in rows.distinct():
        graph.setdefault(parent, set()).add(child)
    return graph


def model_version_csv(*, version: ModelVersion) -> str:
    """The version as CSV: securities, then sleeves as ``model:<CODE>``, then cash."""
    targets = sorted(version.targets.all(), key=lambda t: (t.sleeve is not None, t.label))
    return targets_csv_write(
        cash_weight=version.cash_weight, targets=[(t.label, t.weight) for t in targets]
    )
