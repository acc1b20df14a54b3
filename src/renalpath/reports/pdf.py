"""PDF rendering with WeasyPrint from exactly the HTML the HTML report uses.

WeasyPrint needs the Pango system library; when it cannot load, the error says what to
install instead of surfacing an OSError from deep inside cffi.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from renalpath.errors import Refusal
from renalpath.reports.html import render_salvage_html, render_survival_html
from renalpath.reports.inputs import SalvageReportInput, SurvivalReportInput


class PdfUnavailableError(Refusal, RuntimeError):
    """WeasyPrint (or the Pango library under it) is not usable on this machine."""


def _weasyprint() -> Any:
    try:
        import weasyprint
    except (ImportError, OSError) as err:  # OSError: libpango/libgobject not found
        raise PdfUnavailableError(
            f"PDF output needs WeasyPrint with the Pango library, which could not be loaded "
            f"({type(err).__name__}: {err}). Install WeasyPrint (`pip install weasyprint`) and "
            "Pango ≥ 1.44 (Debian/Ubuntu: `apt-get install libpango-1.0-0 libpangoft2-1.0-0`), "
            "or write --html instead."
        ) from err
    return weasyprint


def html_to_pdf(html: str) -> bytes:
    """Render a self-contained HTML document (no external resources are fetched)."""
    weasyprint = _weasyprint()
    # Reports embed everything as data: URIs; never fetch from disk or network.
    fetcher: Any
    if hasattr(weasyprint, "URLFetcher"):  # WeasyPrint ≥ 68
        fetcher = weasyprint.URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)
    else:

        def fetcher(url: str, *args: object, **kwargs: object) -> Any:
            if not url.startswith("data:"):
                raise PdfUnavailableError(f"report refers to an external resource {url!r}")
            return weasyprint.default_url_fetcher(url, *args, **kwargs)

    pdf: bytes = weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()
    return pdf


def _write(pdf: bytes, path: str | Path | None) -> bytes:
    if path is not None:
        Path(path).write_bytes(pdf)
    return pdf


def render_salvage_pdf(
    inp: SalvageReportInput, path: str | Path | None = None, *, today: dt.date | None = None
) -> bytes:
    """The salvage report as PDF bytes (also written to `path` if given)."""
    return _write(html_to_pdf(render_salvage_html(inp, today=today)), path)


def render_survival_pdf(
    inp: SurvivalReportInput, path: str | Path | None = None, *, today: dt.date | None = None
) -> bytes:
    """The survival report as PDF bytes (also written to `path` if given)."""
    return _write(html_to_pdf(render_survival_html(inp, today=today)), path)
