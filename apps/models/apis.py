"""Model portfolios API: models, versions (create = a new immutable version), flattened targets."""

from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.permissions import Action
from apps.access.requests import AuthenticatedRequest
from apps.common.api import (
    ApiErrorOutput,
    AsOfFilters,
    RateField,
    SearchFilters,
    WeightField,
    as_of_filter,
    query_filters,
)
from apps.models.models import ModelPortfolio, ModelVersion
from apps.models.selectors import (
    model_current_version,
    model_flatten,
    model_list,
    model_version_csv,
    model_version_get,
    model_version_list,
)
from apps.models.services import (
    MODEL_FIELDS,
    MODEL_TRACKING_FIELDS,
    model_create,
    model_update,
    model_version_create,
)


class ModelOutput(serializers.Serializer[Any]):
    """A model portfolio."""

    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    provider = serializers.CharField()
    fee_bps = serializers.DecimalField(max_digits=7, decimal_places=2)
    is_active = serializers.BooleanField()
    tracking_error_target_rate = RateField(allow_null=True)
    name_band_rate = RateField(allow_null=True)
    sector_band_weight = WeightField(allow_null=True)


class ModelTrackingInput(serializers.ModelSerializer[ModelPortfolio]):
    """How closely accounts follow the model (fractions; null: none), with the model's ranges.

    A tracking error target is above 0 and at most 0.20 (20% a year); a band per name (a
    fraction of each name's target) above 0 and at most 1; a band per sector (a weight) above 0
    and below 1.
    """

    class Meta:
        model = ModelPortfolio
        fields: tuple[str, ...] = MODEL_TRACKING_FIELDS
        extra_kwargs = {f: {"required": False} for f in MODEL_TRACKING_FIELDS}  # noqa: RUF012


class TargetOutput(serializers.Serializer[Any]):
    """A target: ``symbol`` or ``model`` (a sleeve's code), and its weight."""

    symbol = serializers.CharField()
    model = serializers.CharField(source="sleeve.code", allow_null=True, default=None)
    weight = WeightField()


class VersionOutput(serializers.Serializer[Any]):
    """An immutable version."""

    number = serializers.IntegerField()
    effective_on = serializers.DateField()
    cash_weight = WeightField()
    note = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", default=None)
    created_at = serializers.DateTimeField()
    targets = TargetOutput(many=True, source="targets.all")


class ModelDetailOutput(ModelOutput):
    """A model with the version in force today (null before its first)."""

    current_version = VersionOutput(allow_null=True)


class ModelListApi(ListAPIView):  # type: ignore[type-arg]
    """The firm's models (``?search=``); POST creates one (model managers)."""

    serializer_class = ModelOutput
    required_write_action = Action.MANAGE_MODELS
    filters_class = SearchFilters

    class ModelListInput(ModelTrackingInput):
        """A new model: its description and how closely its accounts follow it."""

        code = serializers.CharField(max_length=32)
        name = serializers.CharField(max_length=200)
        description = serializers.CharField(required=False, allow_blank=True, default="")
        provider = serializers.CharField(required=False, allow_blank=True, default="")
        fee_bps = serializers.DecimalField(
            max_digits=7, decimal_places=2, required=False, default=Decimal("0")
        )

        class Meta(ModelTrackingInput.Meta):
            fields = ("code", "name", "description", "provider", "fee_bps", *MODEL_TRACKING_FIELDS)

    def get_queryset(self) -> Any:
        """Models, filtered."""
        return model_list(search=query_filters(self).get("search", ""))

    @extend_schema(request=ModelListInput, responses={201: ModelOutput, 409: ApiErrorOutput})
    def post(self, request: AuthenticatedRequest) -> Response:
        """Create a model (then add a version)."""
        data = self.ModelListInput(data=request.data)
        data.is_valid(raise_exception=True)
        model = model_create(acting_user=request.user, **data.validated_data)
        return Response(ModelOutput(model).data, status=status.HTTP_201_CREATED)


class _ModelScoped:
    kwargs: dict[str, Any]

    def model(self) -> ModelPortfolio:
        return get_object_or_404(ModelPortfolio, pk=self.kwargs["pk"])


class ModelDetailApi(_ModelScoped, APIView):
    """One model with its current version; PATCH changes its description and tracking fields."""

    filters_class = AsOfFilters
    required_write_action = Action.MANAGE_MODELS

    class ModelUpdateInput(ModelTrackingInput):
        """The fields a model manager may change (all optional; never the targets)."""

        class Meta(ModelTrackingInput.Meta):
            fields = MODEL_FIELDS
            extra_kwargs = {f: {"required": False} for f in MODEL_FIELDS}  # noqa: RUF012

    @extend_schema(request=ModelUpdateInput, responses=ModelOutput)
    def patch(self, request: AuthenticatedRequest, pk: int) -> Response:
        """Change fields; unknown or invalid values are refused whole (audited)."""
        model = self.model()
        data = self.ModelUpdateInput(instance=model, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        model = model_update(
            model=model, changes=dict(data.validated_data), acting_user=request.user
        )
        return Response(ModelOutput(model).data)

    @extend_schema(responses=ModelDetailOutput)
    def get(self, request: Request, pk: int) -> Response:
        """Return the model and the version in force on ``as_of``."""
        model = self.model()
        version = model_current_version(model=model, as_of=as_of_filter(self))
        data = dict(ModelOutput(model).data)
        data["current_version"] = VersionOutput(version).data if version is not None else None
        return Response(data)


class ModelVersionListApi(_ModelScoped, APIView):
    """Every version of a model (history); POST creates the next one (model managers)."""

    required_write_action = Action.MANAGE_MODELS

    class TargetInput(serializers.Serializer[Any]):
        """``symbol_or_model``: a symbol, or ``model:<CODE>`` for a sleeve."""

        symbol_or_model = serializers.CharField(max_length=40)
        weight = WeightField(min_value=Decimal(0))

    class ModelVersionListInput(serializers.Serializer[Any]):
        """A new version: weights and cash sum to exactly one."""

        effective_on = serializers.DateField()
        cash_weight = WeightField(min_value=Decimal(0))
        note = serializers.CharField(required=False, allow_blank=True, default="")
        targets = serializers.ListField(child=serializers.DictField(), allow_empty=True)

    @extend_schema(responses=VersionOutput(many=True))
    def get(self, request: Request, pk: int) -> Response:
        """Versions, newest first."""
        return Response(VersionOutput(model_version_list(model=self.model()), many=True).data)

    @extend_schema(request=ModelVersionListInput, responses={201: VersionOutput})
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        """Create the next version (validated; audited)."""
        model = self.model()
        data = self.ModelVersionListInput(data=request.data)
        data.is_valid(raise_exception=True)
        targets = self.TargetInput(data=data.validated_data["targets"], many=True)
        targets.is_valid(raise_exception=True)
        securities: dict[str, Decimal] = {}
        sleeves: dict[str, Decimal] = {}
        for row in targets.validated_data:
            name = str(row["symbol_or_model"]).strip()
            if name.lower().startswith("model:"):
                sleeves[name[6:].strip().upper()] = row["weight"]
            else:
                securities[name.upper()] = row["weight"]
        version = model_version_create(
            model=model,
            effective_on=data.validated_data["effective_on"],
            cash_weight=data.validated_data["cash_weight"],
            security_weights=securities,
            sleeve_weights=sleeves,
            note=data.validated_data["note"],
            acting_user=request.user,
        )
        version = model_version_get(model=model, number=version.number) or version
        return Response(VersionOutput(version).data, status=status.HTTP_201_CREATED)


class ModelFlattenedOutput(serializers.Serializer[Any]):
    """The model on a date with sleeves flattened: per-security weights and cash (sum 1)."""

    model = serializers.CharField()
    as_of = serializers.DateField()
    cash_weight = serializers.CharField()
    weights = serializers.ListField(child=serializers.DictField())


class ModelFlattenedApi(_ModelScoped, APIView):
    """The model's flattened targets on ``as_of`` (sleeves at their current versions)."""

    filters_class = AsOfFilters

    @extend_schema(responses=ModelFlattenedOutput)
    def get(self, request: Request, pk: int) -> Response:
        """Weights are exact decimals as strings."""
        model = self.model()
        as_of = as_of_filter(self)
        flat = model_flatten(model=model, as_of=as_of)
        return Response(
            {
                "model": model.code,
                "as_of": as_of.isoformat(),
                "cash_weight": format(flat.cash_weight, "f"),
                "weights": [
                    {"symbol": symbol, "weight": format(weight, "f")}
                    for symbol, weight in flat.weights.items()
                ],
            }
        )


class ModelVersionCsvApi(_ModelScoped, APIView):
    """A version as ``symbol_or_model,weight`` CSV."""

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request, pk: int, number: int) -> HttpResponse:
        """Return the CSV as an attachment."""
        model = self.model()
        version: ModelVersion | None = model_version_get(model=model, number=number)
        if version is None:
            return HttpResponse(status=404)
        return csv_response(model=model, version=version)


def csv_response(*, model: ModelPortfolio, version: ModelVersion) -> HttpResponse:
    """A version's CSV as a download (pages and API)."""
    response = HttpResponse(model_version_csv(version=version), content_type="text/csv")
    name = f"model-{model.code}-v{version.number}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
