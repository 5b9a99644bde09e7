"""The url_fetcher serves our static files and data: URIs, and refuses everything else."""

import pytest

from apps.reports.rendering import (
    FetchRefusedError,
    pdf_from_html,
    pdf_from_template,
    static_only_fetcher,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/logo.png",
        "http://169.254.169.254/latest/meta-data/",
        "ftp://example.com/x.css",
        "file:///etc/passwd",
    ],
)
def test_fetcher_refuses_anything_outside_our_static_files(url):
    fetcher = static_only_fetcher()
    with pytest.raises(FetchRefusedError):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_fetcher_serves_our_static_css_and_data_uris(settings):
    from pathlib import Path

    css = Path(settings.STATICFILES_DIRS[0]) / "css" / "app.css"
    fetcher = static_only_fetcher()
    assert fetcher.fetch(css.as_uri()).read()
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    # A path that climbs out of the static directory is refused.
    with pytest.raises(FetchRefusedError):
        fetcher.fetch(css.as_uri().replace("/css/app.css", "/../manage.py"))


def test_a_document_asking_for_external_resources_still_renders_without_them():
    html = (
        '<html><head><link rel="stylesheet" href="https://evil.example/x.css"></head>'
        '<body><img src="http://evil.example/pixel.png"><img src="file:///etc/hostname">'
        "<p>Hello</p></body></html>"
    )
    pdf = pdf_from_html(html)
    assert pdf.content.startswith(b"%PDF-")
    assert set(pdf.refused) == {
        "https://evil.example/x.css",
        "http://evil.example/pixel.png",
        "file:///etc/hostname",
    }


def test_only_report_templates_are_rendered():
    with pytest.raises(ValueError, match="only report templates"):
        pdf_from_template("base.html", {})
