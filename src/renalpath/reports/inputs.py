"""What a report needs, as small typed values, so any outcomes result can be adapted to it.

The salvage report is driven by the salvage JSON contract (the dict `study salvage --json`
prints); the plots need two things the JSON does not carry in full — per-patient kidney
function pairs and the Kaplan-Meier step data with censoring times — so they are optional extra
inputs. Without them the report still renders: the KM curve is drawn from the JSON `rfs.table`
and `rfs.at_risk`, and the per-patient plot is replaced by a note.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from renalpath.clinical.durations import DAYS_PER_MONTH as DAYS_PER_MONTH  # re-exported
from renalpath.errors import Refusal

# The salvage JSON contract (top-level keys the salvage report reads).
SALVAGE_KEYS: tuple[str, ...] = (
    "n_surgical_patients",
    "n_salvage",
    "salvage_rate_pct",
    "male_n",
    "male_pct",
    "age_mean",
    "age_sd",
    "age_min",
    "age_max",
    "primary_modality",
    "primary_open_surgery_n",
    "salvage_procedure",
    "approach",
    "dialysis_expected_preop_n",
    "renal_function",
    "warm_ischemia",
    "blood_loss",
    "pt_stage",
    "margins",
    "complications",
    "followup_months",
    "recurrence_after_salvage_n",
    "deaths_n",
    "rfs",
    "methods",
    "results",
)

# A tableone frame, outcomes `Table1.to_json_dict()`, or rows with a header row first.
Table1 = pd.DataFrame | Mapping[str, Any] | Sequence[Sequence[object]]


class ReportInputError(Refusal, ValueError):
    """A report input is missing something the contract promises; names the field and cause."""


def _opt_float(value: object, name: str) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as err:
        raise ReportInputError(f"{name}: {value!r} is not a number") from err
    return out if math.isfinite(out) else None


@dataclass(frozen=True)
class KmRow:
    """One event time of a KM curve (the `table` row shape of `study survival`)."""

    time_days: float
    n_risk: int
    n_event: int
    survival: float | None
    ci_low: float | None
    ci_high: float | None

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> KmRow:
        try:
            time = float(row["time_days"])
            return cls(
                time_days=time,
                n_risk=int(row["n_risk"]),
                n_event=int(row["n_event"]),
                survival=_opt_float(row.get("survival"), "survival"),
                ci_low=_opt_float(row.get("ci_low"), "ci_low"),
                ci_high=_opt_float(row.get("ci_high"), "ci_high"),
            )
        except KeyError as err:
            raise ReportInputError(
                f"KM table row is missing {err.args[0]!r} (expected keys time_days, n_risk, "
                "n_event, survival, ci_low, ci_high — the `study survival` table shape)"
            ) from err


@dataclass(frozen=True)
class AtRisk:
    """Number still under observation at a time (for the table under the KM plot)."""

    months: float
    n_risk: int


@dataclass(frozen=True)
class KmCurve:
    """A KM curve ready to plot: event rows, optional at-risk counts and censoring times."""

    label: str
    n: int
    events: int
    rows: tuple[KmRow, ...] = ()
    at_risk: tuple[AtRisk, ...] = ()
    censor_days: tuple[float, ...] = ()
    max_time_days: float | None = None
    median_days: float | None = None
    median_ci_low_days: float | None = None
    median_ci_high_days: float | None = None
    # (time in days, number still under observation at that time) at every distinct observed
    # time, censoring included: where the plot must stop when few patients remain.
    risk_steps: tuple[tuple[float, int], ...] = ()

    @classmethod
    def from_json(cls, doc: Mapping[str, Any], label: str | None = None) -> KmCurve:
        """From a `study survival` group or the salvage `rfs` block (JSON dicts)."""
        rows = tuple(KmRow.from_json(r) for r in doc.get("table") or ())
        at_risk = tuple(
            AtRisk(months=float(a["months"]), n_risk=int(a["n_risk"]))
            for a in doc.get("at_risk") or ()
        )
        median = doc.get("median")
        if isinstance(median, Mapping):  # salvage rfs: median in months with its CI
            med = _opt_float(median.get("months"), "median.months")
            lo = _opt_float(median.get("ci_low_months"), "median.ci_low_months")
            hi = _opt_float(median.get("ci_high_months"), "median.ci_high_months")
            med_d, lo_d, hi_d = (None if v is None else v * DAYS_PER_MONTH for v in (med, lo, hi))
        else:  # study survival group: median in days
            med_d = _opt_float(median, "median")
            lo_d = _opt_float(doc.get("median_ci_low"), "median_ci_low")
            hi_d = _opt_float(doc.get("median_ci_high"), "median_ci_high")
        name = label if label is not None else str(doc.get("group") or doc.get("label") or "all")
        return cls(
            label=name,
            n=int(doc.get("n") or 0),
            events=int(doc.get("events") or 0),
            rows=rows,
            at_risk=at_risk,
            median_days=med_d,
            median_ci_low_days=lo_d,
            median_ci_high_days=hi_d,
        )


@dataclass(frozen=True)
class KidneyPair:
    """One patient's eGFR before and after surgery (the label is a report-local number)."""

    label: str
    egfr_pre: float | None
    egfr_post: float | None


def _require_keys(doc: Mapping[str, Any], keys: Sequence[str], what: str) -> None:
    missing = [k for k in keys if k not in doc]
    if missing:
        raise ReportInputError(
            f"{what}: missing key(s) {missing}; the report expects the `study salvage --json` "
            "contract "
            "(likely cause: a summary from an older or different analysis)"
        )


@dataclass(frozen=True)
class SalvageReportInput:
    """Everything the salvage report renders.

    `study` is the `study salvage --json` dict. `rfs_curve` defaults to the curve in `study["rfs"]`;
    `table1` is an optional extra Table 1 (e.g. from tableone) shown after the built-in one.
    """

    study: Mapping[str, Any]
    kidney_pairs: tuple[KidneyPair, ...] = ()
    rfs_curve: KmCurve | None = None
    table1: Table1 | None = None
    title: str = "Salvage renal surgery after failed primary treatment"
    data_note: str = "synthetic or local registry data"
    extra_notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        _require_keys(self.study, SALVAGE_KEYS, "salvage study")

    def curve(self) -> KmCurve:
        if self.rfs_curve is not None:
            return self.rfs_curve
        return KmCurve.from_json(self.study["rfs"] or {}, label="Salvage cohort")


SURVIVAL_KEYS: tuple[str, ...] = ("endpoint", "n", "groups")


@dataclass(frozen=True)
class SurvivalReportInput:
    """`study survival` JSON plus optional richer curves (same order as `study["groups"]`)."""

    study: Mapping[str, Any]
    curves: tuple[KmCurve, ...] = ()
    title: str = "Survival after partial or radical nephrectomy"
    data_note: str = "synthetic or local registry data"

    def __post_init__(self) -> None:
        _require_keys(self.study, SURVIVAL_KEYS, "survival study")

    def group_curves(self) -> tuple[KmCurve, ...]:
        if self.curves:
            return self.curves
        return tuple(KmCurve.from_json(g) for g in self.study["groups"] or ())
