"""Trading API: runs (create, progress, cancel), proposals with trades, bulk decisions."""

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.permissions import Action
from apps.access.requests import AuthenticatedRequest
from apps.common.api import date_param, query_filters
from apps.common.limits import BIGINT_MAX, IDS_MAX
from apps.common.pagination import KeyLimitOffsetPagination
from apps.common.tenancy import firm_today
from apps.trading.models import (
    Proposal,
    ProposalStatus,
    ProposedTrade,
    RebalanceRun,
    RunMode,
    RunScope,
)
from apps.trading.progress import run_progress
from apps.trading.selectors import proposal_list, run_list
from apps.trading.services.review import proposals_decide
from apps.trading.services.runs import proposal_rerun, rebalance_run_cancel, rebalance_run_create


class ProgressOutput(serializers.Serializer[Any]):
    """Live progress of a run."""

    status = serializers.CharField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    remaining = serializers.IntegerField()
    percent = serializers.IntegerField()
    rate_per_s = serializers.FloatField(allow_null=True)
    eta_s = serializers.FloatField(allow_null=True)
    solver_share = serializers.FloatField(allow_null=True)


class RunOutput(serializers.ModelSerializer[RebalanceRun]):
    """A run and its progress."""

    progress = serializers.SerializerMethodField()

    class Meta:
        model = RebalanceRun
        fields = (
            "id",
            "scope",
            "scope_ids",
            "mode",
            "as_of",
            "requested_by_name",
            "status",
            "failure_reason",
            "created_at",
            "started_at",
            "finished_at",
            "progress",
        )

    @extend_schema(responses=ProgressOutput)
    def get_progress(self, run: RebalanceRun) -> dict[str, Any]:
        """The run's progress."""
        return dict(ProgressOutput(run_progress(run)).data)


class RunInput(serializers.Serializer[Any]):
    """What to rebalance: scope (+ ids unless the book), mode, as-of date (default today)."""

    scope = serializers.ChoiceField(choices=RunScope.choices)
    scope_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=BIGINT_MAX),
        default=list,
        max_length=IDS_MAX,
    )
    mode = serializers.ChoiceField(choices=RunMode.choices, default=RunMode.FULL_REBALANCE)
    as_of = date_param(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """A scope other than the book needs ids."""
        if attrs["scope"] != RunScope.BOOK and not attrs["scope_ids"]:
            raise serializers.ValidationError({"scope_ids": "required for this scope"})
        return attrs


class IdempotencyKey(serializers.Serializer[Any]):
    """The ``Idempotency-Key`` header (optional): printable ASCII, up to 100 characters."""

    key = serializers.RegexField(
        r"^[\x21-\x7e]{1,100}$", required=False, allow_blank=True, default=""
    )


class RunListApi(ListAPIView[RebalanceRun]):
    """Runs, newest first; POST starts one (traders)."""

    serializer_class = RunOutput
    required_write_action = Action.RUN_REBALANCE

    def get_queryset(self) -> Any:
        """Runs of this firm."""
        return run_list()

    @extend_schema(
        request=RunInput,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Up to 100 characters, unique in the firm: a retried request with "
                "the same key returns the run the first one created.",
            )
        ],
        responses={202: RunOutput},
    )
    def post(self, request: Request) -> Response:
        """Accept a run (202): stored with its start message, which waits out a broker outage."""
        data = RunInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        key = IdempotencyKey(data={"key": request.headers.get("Idempotency-Key", "")})
        key.is_valid(raise_exception=True)
        run = rebalance_run_create(
            scope=RunScope(values["scope"]),
            scope_ids=values["scope_ids"],
            mode=RunMode(values["mode"]),
            as_of=values.get("as_of") or firm_today(),
            requested_by=request.user,
            idempotency_key=key.validated_data["key"],
        )
        return Response(RunOutput(run).data, status=status.HTTP_202_ACCEPTED)


class RunDetailApi(RetrieveAPIView[RebalanceRun]):
    """One run."""

    serializer_class = RunOutput

    def get_queryset(self) -> Any:
        """Runs of this firm."""
        return run_list()


class RunProgressApi(APIView):
    """Live progress of a run (polled by the run page)."""

    @extend_schema(responses=ProgressOutput)
    def get(self, request: Request, pk: int) -> Response:
        """Return the progress."""
        run = get_object_or_404(RebalanceRun, pk=pk)
        return Response(ProgressOutput(run_progress(run)).data)


class RunCancelApi(APIView):
    """Cancel a run that has not finished."""

    required_action = Action.RUN_REBALANCE

    @extend_schema(request=None, responses=RunOutput)
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        """Cancel; pending accounts are marked skipped."""
        run = rebalance_run_cancel(
            run=get_object_or_404(RebalanceRun, pk=pk), acting_user=request.user
        )
        return Response(RunOutput(run).data)


class TradeOutput(serializers.ModelSerializer[ProposedTrade]):
    """A proposed trade with its reason."""

    class Meta:
        model = ProposedTrade
        fields = (
            "side",
            "symbol",
            "lot_key",
            "shares",
            "price",
            "amount",
            "realized_gain_amount",
            "term",
            "reason",
            "explanation",
        )


class ProposalOutput(serializers.ModelSerializer[Proposal]):
    """A proposal with metrics, flags and trades."""

    account = serializers.IntegerField(source="account_id")
    run = serializers.IntegerField(source="run_id")
    trades = TradeOutput(many=True, read_only=True)

    class Meta:
        model = Proposal
        fields = (
            "id",
            "run",
            "account",
            "status",
            "status_reason",
            "flags",
            "metrics",
            "estimated_tax_amount",
            "naive_tax_amount",
            "turnover_amount",
            "summary",
            "solver",
            "decided_at",
            "decision_note",
            "trades",
        )


class ProposalListApi(ListAPIView[Proposal]):
    """Proposals (filters ``run``, ``status``) with their trades."""

    serializer_class = ProposalOutput
    pagination_class = KeyLimitOffsetPagination

    class Filters(serializers.Serializer[Any]):
        """Query parameters of the list."""

        status = serializers.ChoiceField(choices=ProposalStatus.choices, required=False)
        run = serializers.IntegerField(required=False, min_value=1, max_value=BIGINT_MAX)

    filters_class = Filters

    def get_queryset(self) -> Any:
        """Proposals of this firm."""
        filters = query_filters(self)
        proposals = proposal_list(status=filters.get("status", "")).prefetch_related("trades")
        run = filters.get("run")
        return proposals if run is None else proposals.filter(run_id=run)


class ProposalDetailApi(RetrieveAPIView[Proposal]):
    """One proposal."""

    serializer_class = ProposalOutput

    def get_queryset(self) -> Any:
        """Proposals of this firm."""
        return proposal_list().prefetch_related("trades")


class DecisionInput(serializers.Serializer[Any]):
    """Approve or reject proposals pending approval."""

    proposal_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=BIGINT_MAX),
        min_length=1,
        max_length=IDS_MAX,
    )
    decision = serializers.ChoiceField(choices=("approve", "reject"))
    note = serializers.CharField(max_length=300, required=False, default="")


class DecisionOutput(serializers.Serializer[Any]):
    """How many proposals were decided, already stood so, or turned out stale (with why)."""

    decided = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    stale = serializers.DictField(child=serializers.CharField())


class ProposalDecideApi(APIView):
    """Approve or reject live proposals (traders); idempotent; stale ones are named; audited."""

    required_action = Action.APPROVE_TRADES

    @extend_schema(request=DecisionInput, responses=DecisionOutput)
    def post(self, request: AuthenticatedRequest) -> Response:
        """Decide."""
        data = DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        decided = proposals_decide(
            proposal_ids=data.validated_data["proposal_ids"],
            approve=data.validated_data["decision"] == "approve",
            acting_user=request.user,
            note=data.validated_data["note"],
        )
        return Response(
            {
                "decided": decided.decided,
                "unchanged": decided.unchanged,
                "stale": {str(k): v for k, v in decided.stale.items()},
            }
        )


class ProposalRerunApi(APIView):
    """Re-run a stale or held back proposal's account today (the one-click re-run)."""

    required_action = Action.RUN_REBALANCE

    @extend_schema(request=None, responses={202: RunOutput})
    def post(self, request: AuthenticatedRequest, pk: int) -> Response:
        """Accept the run; it starts on the optimizer queue (when the broker is up)."""
        proposal = get_object_or_404(proposal_list(), pk=pk)
        run = proposal_rerun(proposal=proposal, acting_user=request.user)
        return Response(RunOutput(run).data, status=status.HTTP_202_ACCEPTED)
