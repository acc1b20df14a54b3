"""Thin adapters from outcomes results to report inputs (reports may import outcomes).

The JSON contract alone can draw a report; these adapters add what only the full results hold:
per-patient kidney function pairs, censoring times and the last follow-up for the KM plot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from renalpath.outcomes.salvage import SalvageStudy
from renalpath.outcomes.survival import KaplanMeier
from renalpath.outcomes.survival_by_group import SurvivalStudy
from renalpath.reports.inputs import (
    DAYS_PER_MONTH,
    AtRisk,
    KidneyPair,
    KmCurve,
    KmRow,
    SalvageReportInput,
    SurvivalReportInput,
    Table1,
)


def _f(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def default_ticks(max_months: float) -> list[float]:
    """At-risk/tick months: every 6, 12 or 24 months depending on follow-up length."""
    step = 6.0 if max_months <= 30 else 12.0 if max_months <= 120 else 24.0
    count = int(max_months // step) + 1
    return [i * step for i in range(max(count, 1))]


def km_curve_from_fit(
    km: KaplanMeier, *, label: str | None = None, months: Sequence[float] | None = None
) -> KmCurve:
    """A plottable curve from an outcomes `KaplanMeier`, with at-risk counts at `months`."""
    max_months = 0.0 if km.max_time is None else km.max_time / DAYS_PER_MONTH
    ticks = list(months) if months is not None else default_ticks(max_months)
    rows = tuple(
        KmRow(
            time_days=float(r["time"]),
            n_risk=int(r["n_risk"]),
            n_event=int(r["n_event"]),
            survival=_f(r["survival"]),
            ci_low=_f(r["ci_low"]),
            ci_high=_f(r["ci_high"]),
        )
        for r in km.table.to_dict("records")
    )
    censored = km.curve[km.curve["n_censor"] > 0] if "n_censor" in km.curve else km.curve.iloc[:0]
    at_risk = tuple(
        AtRisk(months=float(m), n_risk=int(a["n_risk"]))
        for m, a in zip(ticks, km.at_risk(m * DAYS_PER_MONTH for m in ticks), strict=True)
    )
    return KmCurve(
        label=label if label is not None else km.label,
        n=km.n,
        events=km.events,
        rows=rows,
        at_risk=at_risk,
        censor_days=tuple(float(t) for t in censored["time"].tolist()),
        max_time_days=km.max_time,
        median_days=km.median,
        median_ci_low_days=km.median_ci_low,
        median_ci_high_days=km.median_ci_high,
        risk_steps=tuple(
            (float(t), int(r)) for t, r in zip(km.curve["time"], km.curve["n_risk"], strict=True)
        ),
    )


def kidney_pairs_from_frame(pairs: pd.DataFrame) -> tuple[KidneyPair, ...]:
    """Non-excluded patients' eGFR pairs, labelled 1..n in table order.

    Report-local numbers instead of registry IDs: a report may leave the site, an ID must not.
    """
    if pairs.empty:
        return ()
    kept = pairs[pairs["excluded"].isna()] if "excluded" in pairs else pairs
    return tuple(
        KidneyPair(str(i), _f(pre), _f(post))
        for i, (pre, post) in enumerate(
            zip(kept["egfr_pre"].tolist(), kept["egfr_post"].tolist(), strict=True), start=1
        )
    )


def salvage_report_input(
    study: SalvageStudy, *, table1: Table1 | None = None, **options: Any
) -> SalvageReportInput:
    """Report input from `outcomes.salvage.salvage_study(...)` (options: title, data_note)."""
    return SalvageReportInput(
        study=study.to_json_dict(),
        kidney_pairs=kidney_pairs_from_frame(study.kidney_pairs),
        rfs_curve=km_curve_from_fit(study.rfs_curve, label="Salvage cohort"),
        table1=table1,
        **options,
    )


def survival_report_input(study: SurvivalStudy, **options: Any) -> SurvivalReportInput:
    """Report input from `outcomes.survival_by_group.survival_study(...)`.

    Plot ticks span the longest follow-up; the fixed-time table keeps the study's own times.
    """
    longest = max((g.max_time or 0.0 for g in study.groups), default=0.0) / DAYS_PER_MONTH
    ticks = default_ticks(longest)
    return SurvivalReportInput(
        study=study.to_json_dict(),
        curves=tuple(km_curve_from_fit(g, months=ticks) for g in study.groups),
        **options,
    )
