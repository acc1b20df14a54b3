"""HTML rendering (Jinja2): one self-contained file per report — inline CSS, images as data:
URIs, no scripts — so it can be mailed, archived or printed to PDF unchanged.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from renalpath.reports.inputs import SalvageReportInput, SurvivalReportInput
from renalpath.reports.plots import MIN_AT_RISK
from renalpath.reports.salvage_view import build_salvage_view
from renalpath.reports.survival_view import build_survival_view


@lru_cache(maxsize=1)
def environment() -> Environment:
    """Templates are package data (`renalpath/reports/templates`); undefined names fail loudly."""
    return Environment(
        loader=PackageLoader("renalpath.reports", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _render(template: str, view: Any) -> str:
    return environment().get_template(template).render(v=view)


def render_salvage_html(
    inp: SalvageReportInput, *, today: dt.date | None = None, min_at_risk: int = MIN_AT_RISK
) -> str:
    """The salvage-study report as one HTML document."""
    return _render("salvage.html.j2", build_salvage_view(inp, today=today, min_at_risk=min_at_risk))


def render_survival_html(
    inp: SurvivalReportInput, *, today: dt.date | None = None, min_at_risk: int = MIN_AT_RISK
) -> str:
    """The `study survival` report as one HTML document."""
    view = build_survival_view(inp, today=today, min_at_risk=min_at_risk)
    return _render("survival.html.j2", view)
