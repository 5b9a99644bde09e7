"""The upload page pattern: every upload is refused above the size limit before it is read."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.ingest.forms import UploadForm
from apps.models.forms import ModelVersionForm


@pytest.fixture
def four_bytes(monkeypatch):
    monkeypatch.setattr("apps.ingest.forms.FILE_MAX_BYTES", 4)


def test_an_import_upload_over_the_limit_is_refused(four_bytes):
    form = UploadForm({}, {"file": SimpleUploadedFile("f.csv", b"a,b\n1,2\n")})
    assert form.errors == {"file": ["the file is larger than 0 MB"]}
    assert UploadForm({}, {"file": SimpleUploadedFile("f.csv", b"a\n")}).is_valid()


def test_a_model_csv_upload_over_the_limit_is_refused(four_bytes):
    upload = SimpleUploadedFile("m.csv", b"AAPL,1\n")
    form = ModelVersionForm({"effective_on": "2024-01-02"}, {"csv_file": upload})
    assert form.errors["csv_file"] == ["the file is larger than 0 MB"]
