"""The PDF renders from the same HTML and opens with pypdf.

WeasyPrint needs Pango. If it cannot load, these tests fail with the reason — a silent skip
would hide a broken `--pdf` — unless RENALPATH_SKIP_PDF=1 says PDF is knowingly unavailable.
"""

from __future__ import annotations

import io
import os
import re
from typing import Any

import pytest
from pypdf import PdfReader

from renalpath.reports import (
    KidneyPair,
    SalvageReportInput,
    SurvivalReportInput,
    render_salvage_pdf,
    render_survival_pdf,
)
from renalpath.reports.pdf import PdfUnavailableError, _weasyprint


@pytest.fixture(autouse=True)
def _need_weasyprint() -> None:
    try:
        _weasyprint()
    except PdfUnavailableError as err:
        if os.environ.get("RENALPATH_SKIP_PDF") == "1":
            pytest.skip(f"RENALPATH_SKIP_PDF=1: {err}")
        pytest.fail(f"WeasyPrint cannot render PDFs here (set RENALPATH_SKIP_PDF=1 to skip): {err}")


def _pdf_text(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    return len(reader.pages), re.sub(r"\s+", " ", text)


def test_salvage_pdf_opens_with_sections_and_numbers(study: dict[str, Any], tmp_path: Any) -> None:
    out = tmp_path / "report.pdf"
    pdf = render_salvage_pdf(
        SalvageReportInput(study, kidney_pairs=(KidneyPair("1", 60.0, 52.0),)), out
    )
    assert out.read_bytes() == pdf
    assert pdf.startswith(b"%PDF-")
    pages, text = _pdf_text(pdf)
    assert 2 <= pages <= 8  # a results section with tables and two figures, not a book
    for title in (
        "Methods",
        "Results",
        "Kidney function",
        "Recurrence-free survival",
        "Software versions",
        "Not a medical device",
    ):
        assert title in text, title
    assert "839" in text
    assert "53.8" in text and "46.6" in text
    assert f"Page 1 of {pages}" in text


def test_empty_cohort_pdf_renders(empty: dict[str, Any]) -> None:
    pages, text = _pdf_text(render_salvage_pdf(SalvageReportInput(empty)))
    assert pages >= 1
    assert "no salvage nephrectomy in the window" in text


def test_survival_pdf_renders(survival_doc: dict[str, Any]) -> None:
    pages, text = _pdf_text(render_survival_pdf(SurvivalReportInput(survival_doc)))
    assert pages >= 1
    assert "Log-rank" in text and "0.01" in text
