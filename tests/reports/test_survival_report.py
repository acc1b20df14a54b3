"""The `study survival` report: per-group table, fixed-time estimates, log-rank, KM plot."""

from __future__ import annotations

import re
from typing import Any

from renalpath.reports import SurvivalReportInput, render_survival_html
from renalpath.reports.formatting import DASH
from renalpath.reports.inputs import KmCurve
from renalpath.reports.survival_view import estimate_at


def _text(html: str) -> str:
    body = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_groups_estimates_and_logrank(survival_doc: dict[str, Any]) -> None:
    text = _text(render_survival_html(SurvivalReportInput(survival_doc)))
    assert "Overall survival" in text
    assert "partial nephrectomy" in text  # codes shown as words
    # Group A: median 730.5 days = 24.0 months (CI 12.0 to not reached).
    assert "24.0 (12.0–not reached)" in text
    # Group A at 12 months (365.25 d): last event ≤ t is day 100 → 90% (75–100).
    assert "90% (75–100)" in text
    # at 24 months (730.5 d): last event is day 500 → 80% (62–100).
    assert "80% (62–100)" in text
    # Group B has nobody left at 24 months → not estimable, explained.
    assert "nobody left under observation" in text
    assert "χ² = 6.25, df = 1, p = 0.01" in text  # p = 0.0123
    assert "log-rank p = 0.01" in text
    assert "<script" not in text
    assert text.count(DASH) >= 1


def test_empty_survival_study_renders() -> None:
    doc = {
        "endpoint": "overall",
        "n": 0,
        "events": 0,
        "groups": [],
        "by": None,
        "window": {"from": None, "to": None},
        "notes": ["no patients"],
    }
    text = _text(render_survival_html(SurvivalReportInput(doc)))
    assert "no patients" in text
    assert "all operation dates in the registry" in text


def test_estimate_beyond_follow_up_is_none() -> None:
    curve = KmCurve("a", 3, 1, max_time_days=100.0)
    assert estimate_at(curve, 0) == (1.0, 1.0, 1.0)
    assert estimate_at(curve, 12) == (None, None, None)  # 365.25 d > 100 d
