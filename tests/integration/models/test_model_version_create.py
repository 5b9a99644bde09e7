"""Model versions: validation, immutable history, sleeves, CSV, audit."""

from datetime import date
from decimal import Decimal

import pytest

from apps.access.models import AuditEvent
from apps.access.roles import Role
from apps.common.exceptions import ApplicationError
from apps.models.errors import ModelsErrorCode
from apps.models.models import ModelVersion
from apps.models.selectors import (
    model_current_version,
    model_flatten,
    model_version_csv,
    model_version_list,
)
from apps.models.services import model_create, model_version_create, model_version_import_csv
from tests.integration.models.conftest import weights

D = Decimal


@pytest.fixture
def admin(universe):
    return universe.users[Role.FIRM_ADMIN]


def make(code, admin, *, cash="0", on=date(2024, 1, 2), sleeves=None, **targets):
    model = model_create(code=code, name=f"{code} model", acting_user=admin)
    model_version_create(
        model=model,
        effective_on=on,
        cash_weight=D(cash),
        security_weights=weights(**targets),
        sleeve_weights={k: D(v) for k, v in (sleeves or {}).items()},
        acting_user=admin,
    )
    return model


def test_version_needs_weights_summing_to_exactly_one(admin):
    model = model_create(code="core", name="Core", acting_user=admin)
    assert model.code == "CORE"
    cases = [
        (weights(AAPL="0.5", MSFT="0.49"), "0", ModelsErrorCode.WEIGHTS_SUM),
        (weights(AAPL="0.5", MSFT="0.5"), "0.00000001", ModelsErrorCode.WEIGHTS_SUM),
        (weights(AAPL="1.1", MSFT="-0.1"), "0", ModelsErrorCode.INVALID),
        (weights(AAPL="0.333333333", MSFT="0.666666667"), "0", ModelsErrorCode.INVALID),
        (weights(AAPL="0.5", NOPE="0.5"), "0", ModelsErrorCode.UNKNOWN_SYMBOL),
    ]
    for targets, cash, code in cases:
        with pytest.raises(ApplicationError) as info:
            model_version_create(
                model=model,
                effective_on=date(2024, 1, 2),
                cash_weight=D(cash),
                security_weights=targets,
                acting_user=admin,
            )
        assert info.value.code == code, targets
    assert not ModelVersion.objects.filter(model=model).exists()
    version = model_version_create(
        model=model,
        effective_on=date(2024, 1, 2),
        cash_weight=D("0.02"),
        security_weights=weights(aapl="0.49", MSFT="0.49"),
        acting_user=admin,
        note="launch",
    )
    assert version.number == 1
    assert {t.symbol for t in version.targets.all()} == {"AAPL", "MSFT"}
    event = AuditEvent.objects.get(action="model_version.create")
    assert event.payload["targets"] == {"AAPL": "0.49", "MSFT": "0.49"}
    assert event.payload["cash_weight"] == "0.02"


def test_editing_creates_versions_and_keeps_history(admin):
    model = make("CORE", admin, AAPL="0.5", MSFT="0.5")
    model_version_create(
        model=model,
        effective_on=date(2024, 7, 1),
        cash_weight=D("0.1"),
        security_weights=weights(AAPL="0.9"),
        acting_user=admin,
    )
    with pytest.raises(ApplicationError):  # history is not rewritten
        model_version_create(
            model=model,
            effective_on=date(2024, 3, 1),
            cash_weight=D("0"),
            security_weights=weights(AAPL="1"),
            acting_user=admin,
        )
    assert [v.number for v in model_version_list(model=model)] == [2, 1]
    assert model_current_version(model=model, as_of=date(2023, 12, 31)) is None
    assert model_current_version(model=model, as_of=date(2024, 6, 30)).number == 1
    assert model_current_version(model=model, as_of=date(2024, 7, 1)).number == 2
    assert model_flatten(model=model, as_of=date(2024, 6, 30)).weights == weights(
        AAPL="0.5", MSFT="0.5"
    )
    later = model_flatten(model=model, as_of=date(2024, 7, 1))
    assert later.weights == weights(AAPL="0.9") and later.cash_weight == D("0.1")
    # Version 1 is intact.
    v1 = model_version_list(model=model).get(number=1)
    assert {t.symbol: t.weight for t in v1.targets.all()} == weights(AAPL="0.5", MSFT="0.5")


def test_sleeves_flatten_and_follow_their_current_version(admin):
    make("EQ", admin, AAPL="0.6", MSFT="0.4")
    make("FI", admin, cash="0.1", BND="0.9")
    bal = make("BAL", admin, cash="0.05", KO="0.05", sleeves={"EQ": "0.6", "FI": "0.3"})
    flat = model_flatten(model=bal, as_of=date(2024, 2, 1))
    assert flat.weights == weights(AAPL="0.36", BND="0.27", KO="0.05", MSFT="0.24")
    assert flat.cash_weight == D("0.08")
    # EQ changes: BAL follows without a new version of its own.
    eq = model_version_list(model=bal).get().targets.get(sleeve__code="EQ").sleeve
    model_version_create(
        model=eq,
        effective_on=date(2024, 3, 1),
        cash_weight=D(0),
        security_weights=weights(INTC="1"),
        acting_user=admin,
    )
    assert model_flatten(model=bal, as_of=date(2024, 3, 1)).weights["INTC"] == D("0.6")
    assert model_flatten(model=bal, as_of=date(2024, 2, 1)).weights["AAPL"] == D("0.36")


def test_sleeve_cycles_and_unknown_sleeves_are_refused(admin):
    a = make("A", admin, AAPL="1")
    make("B", admin, sleeves={"A": "1"})
    with pytest.raises(ApplicationError) as info:
        model_version_create(
            model=a,
            effective_on=date(2024, 5, 1),
            cash_weight=D(0),
            security_weights={},
            sleeve_weights={"B": D(1)},
            acting_user=admin,
        )
    assert info.value.code == ModelsErrorCode.CYCLE
    assert info.value.extra["path"] == ["A", "B", "A"]
    with pytest.raises(ApplicationError) as info:
        model_version_create(
            model=a,
            effective_on=date(2024, 5, 1),
            cash_weight=D(0),
            security_weights={},
            sleeve_weights={"A": D(1)},
            acting_user=admin,
        )
    assert info.value.code == ModelsErrorCode.CYCLE
    empty = model_create(code="EMPTY", name="No version", acting_user=admin)
    for sleeves, code in (
        ({"GHOST": D(1)}, ModelsErrorCode.UNKNOWN_MODEL),
        ({empty.code: D(1)}, ModelsErrorCode.NO_VERSION),
    ):
        with pytest.raises(ApplicationError) as info:
            model_version_create(
                model=a,
                effective_on=date(2024, 5, 1),
                cash_weight=D(0),
                security_weights={},
                sleeve_weights=sleeves,
                acting_user=admin,
            )
        assert info.value.code == code


def test_csv_round_trip_and_line_errors(admin):
    make("EQ", admin, AAPL="0.6", MSFT="0.4")
    model = model_create(code="MIX", name="Mix", acting_user=admin)
    version = model_version_import_csv(
        model=model,
        effective_on=date(2024, 1, 2),
        csv_text="symbol_or_model,weight\nko,25%\nEQ,0.5\nCASH,0.25\n",
        acting_user=admin,
    )
    text = model_version_csv(version=version)
    assert text == "symbol_or_model,weight\nKO,0.25000000\nmodel:EQ,0.50000000\nCASH,0.25000000\n"
    again = model_version_import_csv(
        model=model, effective_on=date(2024, 2, 1), csv_text=text, acting_user=admin
    )
    assert model_version_csv(version=again) == text
    with pytest.raises(ApplicationError) as info:
        model_version_import_csv(
            model=model,
            effective_on=date(2024, 3, 1),
            csv_text="KO,abc\nPEP,0.5,extra\nKO,0.1\nPEP,-1\n",
            acting_user=admin,
        )
    assert info.value.code == ModelsErrorCode.CSV_INVALID
    assert set(info.value.extra["lines"]) == {1, 2, 4}
    assert model_version_list(model=model).count() == 2
