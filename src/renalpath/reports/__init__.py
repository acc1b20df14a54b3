"""reports layer (above outcomes, below cli/web): HTML (Jinja2) and PDF (WeasyPrint)
renderings of outcomes.

Public API::

    from renalpath.reports import (
        SalvageReportInput, SurvivalReportInput, KmCurve, KidneyPair,
        salvage_report_input, survival_report_input,          # from outcomes results
        render_salvage_html, render_salvage_pdf,
        render_survival_html, render_survival_pdf,
    )
"""

from renalpath.reports.adapters import (
    km_curve_from_fit,
    salvage_report_input,
    survival_report_input,
)
from renalpath.reports.html import render_salvage_html, render_survival_html
from renalpath.reports.inputs import (
    AtRisk,
    KidneyPair,
    KmCurve,
    KmRow,
    ReportInputError,
    SalvageReportInput,
    SurvivalReportInput,
)
from renalpath.reports.pdf import (
    PdfUnavailableError,
    html_to_pdf,
    render_salvage_pdf,
    render_survival_pdf,
)

__all__ = [
    "AtRisk",
    "KidneyPair",
    "KmCurve",
    "KmRow",
    "PdfUnavailableError",
    "ReportInputError",
    "SalvageReportInput",
    "SurvivalReportInput",
    "html_to_pdf",
    "km_curve_from_fit",
    "render_salvage_html",
    "render_salvage_pdf",
    "render_survival_html",
    "render_survival_pdf",
    "salvage_report_input",
    "survival_report_input",
]
