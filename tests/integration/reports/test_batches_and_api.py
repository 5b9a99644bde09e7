"""Batches through the service path, the API and pages, downloads, and firm isolation."""

from unittest import mock

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django_tenants.utils import tenant_context

from apps.access.models import OutboxMessage
from apps.access.roles import Role
from apps.common.exceptions import TenantContextError
from apps.reports.models import ReportBatch, ReportBatchStatus, ReportFile, ReportKind
from apps.reports.services.batches import (
    report_batch_chunk_execute,
    report_batch_create,
    report_batch_run_inline,
    report_batch_start,
)
from apps.reports.tasks import report_batch_start as report_batch_start_task
from tests.conftest import api_client, login_client
from tests.integration.reports.conftest import AS_OF, YEAR


@pytest.fixture
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _client_batch(report_book, account_ids=None):
    return report_batch_create(
        kind=ReportKind.CLIENT,
        year=YEAR,
        as_of=AS_OF,
        requested_by=None,
        account_ids=account_ids,
        enqueue=False,
    )


@pytest.mark.usefixtures("_media")
def test_client_batch_renders_every_account_once(report_book, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        batch = _client_batch(report_book)
    assert callbacks == []  # enqueue=False: nothing sent
    assert batch.total_count == 4
    batch = report_batch_run_inline(batch=batch)
    assert batch.status == ReportBatchStatus.COMPLETED
    assert (batch.done_count, batch.failed_count, batch.percent) == (4, 0, 100)
    files = list(ReportFile.objects.filter(batch=batch))
    assert len(files) == 4
    for report_file in files:
        assert report_file.storage_name.startswith(f"reports/{batch.pk}/client-schwab-")
        with default_storage.open(report_file.storage_name, "rb") as handle:
            assert handle.read(5) == b"%PDF-"
        assert report_file.pages >= 4 and len(report_file.sha256) == 64
    # Redelivered start or chunk: nothing is rendered or stored twice.
    assert report_batch_start(batch_id=batch.pk, enqueue=False) == []
    assert report_batch_chunk_execute(batch_id=batch.pk, chunk=0) == 0
    assert ReportFile.objects.filter(batch=batch).count() == 4


@pytest.mark.usefixtures("_media")
def test_one_failing_account_is_recorded_and_the_rest_render(report_book):
    batch = _client_batch(report_book)
    real = __import__("apps.reports.services.client", fromlist=["x"]).report_render_client
    broken = report_book["cash_only"].pk

    def render(*, account, year, as_of):
        if account.pk == broken:
            raise RuntimeError("boom")
        return real(account=account, year=year, as_of=as_of)

    with mock.patch("apps.reports.services.batches.report_render_client", render):
        batch = report_batch_run_inline(batch=batch)
    assert batch.status == ReportBatchStatus.COMPLETED
    assert (batch.done_count, batch.failed_count) == (3, 1)
    assert batch.failures == {str(broken): "RuntimeError: boom"}


@pytest.mark.usefixtures("_media")
def test_firm_batches_render_one_file_each(report_book):
    for kind in (ReportKind.TAXES_SAVED, ReportKind.DISPERSION):
        batch = report_batch_create(
            kind=kind, year=YEAR, as_of=AS_OF, requested_by=None, enqueue=False
        )
        batch = report_batch_run_inline(batch=batch)
        assert batch.status == ReportBatchStatus.COMPLETED
        (report_file,) = ReportFile.objects.filter(batch=batch)
        assert report_file.account is None
        assert report_file.filename == f"{kind.replace('_', '-')}-{YEAR}.pdf"


def test_tasks_refuse_to_run_without_a_firm_schema(firms, db):
    result = report_batch_start_task.apply(args=[1])
    assert isinstance(result.result, TenantContextError)


@pytest.mark.usefixtures("_media")
def test_api_creates_lists_and_downloads(report_book, firms, django_capture_on_commit_callbacks):
    account = report_book["legacy"]
    client = api_client(firms["a"], Role.ADVISOR)
    with django_capture_on_commit_callbacks(execute=False) as sends:
        response = client.post(
            "/api/v1/reports/batches/",
            {"kind": "client", "year": YEAR, "as_of": str(AS_OF), "account_ids": [account.pk]},
            format="json",
        )
    assert response.status_code == 201, response.content
    batch_id = response.json()["id"]
    assert len(sends) == 1  # the start message is committed with the batch, sent after
    with tenant_context(firms["a"].firm):
        assert OutboxMessage.objects.get().args == [batch_id]
    with tenant_context(firms["a"].firm):
        report_batch_run_inline(batch=ReportBatch.objects.get(pk=batch_id))
    detail = client.get(f"/api/v1/reports/batches/{batch_id}/").json()
    assert detail["status"] == "completed", detail["failures"]
    assert detail["percent"] == 100
    (file_row,) = detail["files"]
    download = client.get(file_row["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content).startswith(b"%PDF-")
    listing = client.get("/api/v1/reports/batches/").json()
    assert batch_id in [b["id"] for b in listing["results"]]

    # Viewers may not generate reports nor download them.
    viewer = api_client(firms["a"], Role.VIEWER)
    assert viewer.post("/api/v1/reports/batches/", {"kind": "dispersion"}).status_code == 403
    assert viewer.get(file_row["download_url"]).status_code == 403

    # Firm B's users get 404 for firm A's files and batches, through the API and the pages.
    other = api_client(firms["b"], Role.FIRM_ADMIN)
    assert other.get(file_row["download_url"]).status_code == 404
    assert other.get(f"/api/v1/reports/batches/{batch_id}/").status_code == 404
    page_b = login_client(firms["b"], Role.FIRM_ADMIN)
    assert page_b.get(f"/reports/files/{file_row['id']}/").status_code == 404
    assert page_b.get(f"/reports/batches/{batch_id}/").status_code == 404


@pytest.mark.usefixtures("_media")
def test_pages_list_batches_and_download(report_book, firms):
    batch = report_batch_run_inline(batch=_client_batch(report_book, [report_book["legacy"].pk]))
    report_file = ReportFile.objects.get(batch=batch)
    page = login_client(firms["a"], Role.TRADER)
    listing = page.get("/reports/")
    assert listing.status_code == 200
    assert f"#{batch.pk}" in listing.content.decode()
    detail = page.get(f"/reports/batches/{batch.pk}/").content.decode()
    assert report_file.filename in detail
    download = page.get(f"/reports/files/{report_file.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"%PDF-")
    assert login_client(firms["a"], Role.VIEWER).get("/reports/").status_code == 403


@pytest.mark.usefixtures("_media")
def test_command_renders_and_copies_the_files(report_book, tmp_path, capsys):
    call_command(
        "reports",
        "--firm",
        "firm_a",
        "--kind",
        "client",
        "--as-of",
        str(AS_OF),
        "--account",
        str(report_book["legacy"].pk),
        "--out",
        str(tmp_path / "out"),
    )
    out = capsys.readouterr().out
    assert "completed: 1 rendered, 0 failed" in out
    (pdf,) = (tmp_path / "out").glob("*.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")
