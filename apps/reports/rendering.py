"""HTML -> PDF with WeasyPrint: only our templates, autoescaped, fetching only our static files.

STYLE.md §5.9 and WeasyPrint's security notes: a document may ask for any URL (an image, a
stylesheet, ``file:///etc/passwd``, an internal service). The fetcher here answers ``data:``
URIs and ``file:`` URLs inside our static directories (``STATIC_ROOT`` and
``STATICFILES_DIRS``) and refuses everything else, so a report never reaches the network or
another firm's files. Logos from the firm's storage are embedded as ``data:`` URIs by the
caller, never fetched.
"""

import base64
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.template.loader import render_to_string


class FetchRefusedError(ValueError):
    """A document asked for a resource outside our static files."""


def _static_roots() -> list[Path]:
    roots = [Path(settings.STATIC_ROOT)] if settings.STATIC_ROOT else []
    roots += [Path(d) for d in settings.STATICFILES_DIRS]
    return [r.resolve() for r in roots]


@lru_cache(maxsize=1)
def _fetcher_class() -> type:
    # WeasyPrint is imported on first use: it parses its stylesheets at import, which web and
    # worker processes should not pay for (or log) until they render.
    from weasyprint.urls import URLFetcher

    class StaticOnlyFetcher(URLFetcher):  # type: ignore[misc]
        """A WeasyPrint URL fetcher that serves ``data:`` URIs and our static files only."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols=("data", "file"), allow_redirects=False)
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            """Fetch ``url`` if it is a data URI or a file under our static roots.

            Raises:
                FetchRefusedError: any other URL (http, https, ftp, files elsewhere).
            """
            scheme = url.split(":", 1)[0].lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file":
                path = Path(unquote(urlsplit(url).path)).resolve()
                inside = any(path.is_relative_to(root) for root in _static_roots())
                if inside and path.is_file():
                    return super().fetch(path.as_uri(), headers)
            self.refused.append(url)
            raise FetchRefusedError(
                f"refused to fetch {url[:200]}: reports use our static files only"
            )

    return StaticOnlyFetcher


def static_only_fetcher() -> Any:
    """A new fetcher for one document; ``.refused`` lists the URLs it turned away."""
    return _fetcher_class()()


@dataclass(frozen=True)
class RenderedPdf:
    """A rendered document: its bytes, page count and time spent (HTML + layout + PDF)."""

    content: bytes
    pages: int
    render_ms: int
    refused: tuple[str, ...]


def pdf_from_template(template_name: str, context: dict[str, Any]) -> RenderedPdf:
    """Render one of our templates (autoescaped) to PDF.

    Args:
        template_name: a template under ``reports/``.
        context: the template context (plain values; no request).

    Returns:
        The PDF and its page count.
    """
    if not template_name.startswith("reports/"):
        raise ValueError("only report templates are rendered to PDF")
    started = time.perf_counter()
    html = render_to_string(template_name, context)
    return pdf_from_html(html, started=started)


def pdf_from_html(html: str, *, started: float | None = None) -> RenderedPdf:
    """Lay out HTML produced by our templates; the base URL is our static directory."""
    started = time.perf_counter() if started is None else started
    from weasyprint import HTML

    fetcher = static_only_fetcher()
    roots = _static_roots()
    base_url = roots[-1].as_uri() + "/" if roots else None
    document = HTML(string=html, base_url=base_url, url_fetcher=fetcher).render()
    content = document.write_pdf()
    return RenderedPdf(
        content=content,
        pages=len(document.pages),
        render_ms=round((time.perf_counter() - started) * 1000),
        refused=tuple(fetcher.refused),
    )


def data_uri(content: bytes, *, media_type: str) -> str:
    """A ``data:`` URI for bytes we hold (a firm's logo), so nothing is fetched."""
    return f"data:{media_type};base64,{base64.b64encode(content).decode('ascii')}"
