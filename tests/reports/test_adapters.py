"""Adapters from real outcomes results to report inputs (reports imports outcomes)."""

from __future__ import annotations

import pandas as pd

from renalpath.outcomes.salvage import salvage_study
from renalpath.outcomes.survival import kaplan_meier
from renalpath.registry.frames import RegistryFrames
from renalpath.reports import km_curve_from_fit, render_salvage_html, salvage_report_input
from renalpath.reports.adapters import default_ticks, kidney_pairs_from_frame


def test_km_curve_from_fit_counts_at_risk_independently() -> None:
    # Times 30 (event), 400 (censored), 800 (event), 1200 (censored) days.
    km = kaplan_meier([30, 400, 800, 1200], [1, 0, 1, 0])
    curve = km_curve_from_fit(km, months=[0, 12, 24, 36])
    # Still observed at t (time ≥ t): 0 → 4; 365.25 d → 3; 730.5 d → 2; 1095.75 d → 1.
    assert [(a.months, a.n_risk) for a in curve.at_risk] == [(0, 4), (12, 3), (24, 2), (36, 1)]
    assert curve.censor_days == (400.0, 1200.0)
    assert curve.max_time_days == 1200.0
    # KM by hand: S(30) = 3/4 = 0.75; S(800) = 0.75 × (1 − 1/2) = 0.375.
    assert [(r.time_days, round(r.survival or 0, 6)) for r in curve.rows] == [
        (30.0, 0.75),
        (800.0, 0.375),
    ]


def test_default_ticks_span_follow_up() -> None:
    assert default_ticks(20) == [0, 6, 12, 18]
    assert default_ticks(60) == [0, 12, 24, 36, 48, 60]
    assert default_ticks(197) == [0, 24, 48, 72, 96, 120, 144, 168, 192]


def test_kidney_pairs_drop_excluded_and_hide_ids() -> None:
    frame = pd.DataFrame(
        {
            "patient_id": ["SECRET-1", "SECRET-2", "SECRET-3"],
            "excluded": [None, "dialysis_expected_preop", None],
            "egfr_pre": [55.0, 20.0, 61.0],
            "egfr_post": [50.0, None, float("nan")],
        }
    )
    pairs = kidney_pairs_from_frame(frame)
    assert [(p.label, p.egfr_pre, p.egfr_post) for p in pairs] == [
        ("1", 55.0, 50.0),
        ("2", 61.0, None),
    ]


def test_empty_registry_study_renders_end_to_end() -> None:
    study = salvage_study(RegistryFrames.empty())
    html = render_salvage_html(salvage_report_input(study))
    assert "no partial or radical nephrectomy dated in the window" in html
    assert "SECRET" not in html
