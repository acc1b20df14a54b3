"""Kidney function before and after an operation: measurement windows, eGFR, paired tests.

Windows are the salvage study's (following the founding salvage-surgery study [V]):
pre = the latest creatinine within 90 days on or before the operation; post = the creatinine
closest to 90 days after it, within 30–365 days. Patients expected pre-operatively to need
dialysis, or who started dialysis within 30 days after surgery, are excluded from the paired
analysis and counted, because an eGFR from creatinine means nothing on dialysis (the Clavien-
Dindo note on expected dialysis). Choices where the sources are silent (documented in `methods`):
several creatinines on the chosen day are averaged; equal distance from day 90 picks the
earlier one; age is taken on the day of the blood test; a blank `black_race` counts as not
Black for the legacy race-based equations, and those patients are counted in the notes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar

from renalpath.clinical.common import ClinicalInputError, Problem
from renalpath.clinical.egfr import EQUATIONS, MDRD, egfr
from renalpath.clinical.units import creatinine_to_mg_dl
from renalpath.outcomes.cohorts import DAYS_PER_YEAR
from renalpath.registry.frames import RegistryFrames

LEGACY_RACE_EQUATIONS = ("mdrd", "ckd-epi-2009")  # MDRD / CKD-EPI 2009 carry a Black coefficient
# KDIGO 2012 (KDIGO 2012 G categories [V]): G3a or worse = eGFR < 60 mL/min/1.73 m².
CKD3_STAGES = ("G3a", "G3b", "G4", "G5")
_STAGE_ORDER = ("G1", "G2", "G3a", "G3b", "G4", "G5")


@dataclass(frozen=True)
class RenalWindows:
    """Measurement windows in days relative to the operation (definitions)."""

    pre_days: int = 90
    post_target_days: int = 90
    post_min_days: int = 30
    post_max_days: int = 365
    dialysis_exclusion_days: int = 30


def _fnum(value: float | None) -> float | None:
    if value is None:
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def _creatinine_mg_dl(labs: pd.DataFrame) -> pd.Series:
    """Creatinine in mg/dL through the validated converter (refuses implausible values)."""
    result = pd.Series(np.nan, index=labs.index, dtype=float)
    converted: dict[tuple[float, str], float] = {}
    pairs = zip(labs["value"].tolist(), labs["unit"].tolist(), strict=True)
    for i, (value, unit) in enumerate(pairs):
        key = (float(value), str(unit))
        if key not in converted:
            try:
                converted[key] = creatinine_to_mg_dl(*key)
            except ClinicalInputError as err:
                first = labs.iloc[i]
                where = f"labs[patient_id={first['patient_id']}, date={first['date'].date()}]"
                raise ClinicalInputError(
                    [
                        Problem(f"{where}.{p.field}", p.value, p.allowed, p.hint)
                        for p in err.problems
                    ]
                ) from err
        result.iloc[i] = converted[key]
    return result


def kidney_function_pairs(
    frames: RegistryFrames,
    ops: pd.DataFrame,
    *,
    equation: str = MDRD,
    windows: RenalWindows | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """One row per operation: pre/post creatinine and eGFR, or why the pair is missing.

    `ops` needs `intervention_id`, `patient_id`, `date`, `dialysis_expected_preop` (an
    `index_table` has them). Returns the rows and notes about assumptions applied.
    """
    if equation not in EQUATIONS:
        raise ValueError(f"equation: {equation!r} is not allowed (allowed: {list(EQUATIONS)})")
    w = windows or RenalWindows()
    notes: list[str] = []
    pats = frames.patients.set_index("patient_id")
    base = ops[["intervention_id", "patient_id", "date", "dialysis_expected_preop"]].copy()
    base = base.rename(columns={"date": "op_date"}).reset_index(drop=True)

    ev = frames.events[frames.events["type"] == "dialysis_start"][["patient_id", "date"]]
    dj = base.merge(ev, on="patient_id")
    delta = (dj["date"] - dj["op_date"]).dt.days
    early = dj[(delta >= 0) & (delta <= w.dialysis_exclusion_days)]["intervention_id"]
    base["excluded"] = None
    base.loc[base["intervention_id"].isin(early), "excluded"] = "dialysis_start_within_30_days"
    expected = base["dialysis_expected_preop"].fillna(False).astype(bool)
    base.loc[expected, "excluded"] = "dialysis_expected_preop"

    labs = frames.labs[frames.labs["test"] == "creatinine"]
    labs = labs[labs["patient_id"].isin(base["patient_id"])]
    cand = base.merge(labs[["patient_id", "date", "value", "unit"]], on="patient_id")
    cand["days"] = (cand["date"] - cand["op_date"]).dt.days
    is_pre = (cand["days"] <= 0) & (cand["days"] >= -w.pre_days)
    is_post = (cand["days"] >= w.post_min_days) & (cand["days"] <= w.post_max_days)
    cand = cand[is_pre | is_post].copy()
    cand["scr"] = _creatinine_mg_dl(cand)
    # Same-day duplicates are averaged (spec silent; a laboratory repeat is not a new day).
    keys = ["intervention_id", "date", "days"]
    daily = cand.groupby(keys, as_index=False, sort=False)["scr"].mean()

    pre = daily[daily["days"] <= 0].sort_values("days", kind="mergesort")
    pre = pre.groupby("intervention_id", sort=False).tail(1).set_index("intervention_id")
    post = daily[daily["days"] >= w.post_min_days].copy()
    post["dist"] = (post["days"] - w.post_target_days).abs()
    post = post.sort_values(["dist", "days"], kind="mergesort")
    post = post.groupby("intervention_id", sort=False).head(1).set_index("intervention_id")

    out = base.set_index("intervention_id")
    out["pre_date"] = pre["date"]
    out["creatinine_pre"] = pre["scr"]
    out["post_date"] = post["date"]
    out["creatinine_post"] = post["scr"]
    out = out.reset_index()

    sex = out["patient_id"].map(pats["sex"])
    birth = out["patient_id"].map(pats["birth_date"])
    black_raw = out["patient_id"].map(pats["black_race"])
    if equation in LEGACY_RACE_EQUATIONS:
        unknown = int(black_raw.isna().sum())
        if unknown:
            notes.append(
                f"{unknown} patient(s) without black_race were treated as not Black for the "
                f"race-based {equation} equation"
            )
    black = black_raw.fillna(False).astype(bool)

    def one(scr: float, when: pd.Timestamp, i: int) -> tuple[float, str] | tuple[None, None]:
        if pd.isna(scr):
            return None, None
        age = (when - birth.iloc[i]).days / DAYS_PER_YEAR
        try:
            res = egfr(float(scr), "mg/dL", age, str(sex.iloc[i]), equation, bool(black.iloc[i]))
        except ClinicalInputError as err:
            where = f"patient {out['patient_id'].iloc[i]} on {when.date()}"
            raise ClinicalInputError(
                [Problem(f"{p.field} ({where})", p.value, p.allowed, p.hint) for p in err.problems]
            ) from err
        return res.egfr, res.ckd_stage

    for side in ("pre", "post"):
        vals = [
            one(out[f"creatinine_{side}"].iloc[i], out[f"{side}_date"].iloc[i], i)
            for i in range(len(out))
        ]
        out[f"egfr_{side}"] = pd.Series([v[0] for v in vals], index=out.index, dtype=float)
        out[f"ckd_{side}"] = pd.Series([v[1] for v in vals], index=out.index, dtype=object)
    out["egfr_change"] = out["egfr_post"] - out["egfr_pre"]
    out["equation"] = equation
    return out, notes


@dataclass(frozen=True)
class PairedTests:
    """Paired comparison of a continuous measure: t-test and Wilcoxon signed-rank."""

    n: int
    pre_mean: float | None
    post_mean: float | None
    change_mean: float | None
    paired_t_p: float | None
    wilcoxon_p: float | None
    notes: tuple[str, ...] = ()


def paired_tests(pre: pd.Series, post: pd.Series, name: str = "value") -> PairedTests:
    """scipy `ttest_rel` and `wilcoxon` on complete pairs; None with a note when undefined."""
    both = pd.DataFrame({"pre": pre, "post": post}).dropna().astype(float)
    n = len(both)
    notes: list[str] = []
    if n == 0:
        return PairedTests(0, None, None, None, None, None, (f"{name}: no complete pairs",))
    diff = both["post"] - both["pre"]
    t_p = w_p = None
    if n < 2:
        notes.append(f"{name}: paired tests need at least 2 pairs (have {n})")
    elif float(diff.std(ddof=1)) == 0.0:
        notes.append(f"{name}: all paired differences are equal; t-test undefined")
    else:
        t_p = _fnum(float(stats.ttest_rel(both["post"], both["pre"]).pvalue))
    if n >= 2 and (diff != 0).any():
        w_p = _fnum(float(stats.wilcoxon(both["post"], both["pre"]).pvalue))
    elif n >= 2:
        notes.append(f"{name}: all paired differences are zero; Wilcoxon test undefined")
    return PairedTests(
        n=n,
        pre_mean=_fnum(both["pre"].mean()),
        post_mean=_fnum(both["post"].mean()),
        change_mean=_fnum(diff.mean()),
        paired_t_p=t_p,
        wilcoxon_p=w_p,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class RenalFunctionSummary:
    """The `renal_function` block of the salvage study (JSON contract, plus extras)."""

    n: int
    equation: str
    creatinine_pre_mean: float | None
    creatinine_post_mean: float | None
    egfr_pre_mean: float | None
    egfr_post_mean: float | None
    egfr_change_mean: float | None
    paired_t_p: float | None
    wilcoxon_p: float | None
    ckd_upstaged_n: int
    mcnemar_p: float | None
    ckd3_pre_n: int
    ckd3_post_n: int
    excluded_dialysis_n: int
    missing_pre_n: int
    missing_post_n: int
    pairs: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "equation": self.equation,
            "creatinine_pre_mean": self.creatinine_pre_mean,
            "creatinine_post_mean": self.creatinine_post_mean,
            "egfr_pre_mean": self.egfr_pre_mean,
            "egfr_post_mean": self.egfr_post_mean,
            "egfr_change_mean": self.egfr_change_mean,
            "paired_t_p": self.paired_t_p,
            "wilcoxon_p": self.wilcoxon_p,
            "ckd_upstaged_n": self.ckd_upstaged_n,
            "mcnemar_p": self.mcnemar_p,
            "ckd3_pre_n": self.ckd3_pre_n,
            "ckd3_post_n": self.ckd3_post_n,
            "excluded_dialysis_n": self.excluded_dialysis_n,
            "missing_pre_n": self.missing_pre_n,
            "missing_post_n": self.missing_post_n,
            "notes": list(self.notes),
        }


def summarise_kidney_function(
    pairs: pd.DataFrame, equation: str, notes: list[str] | None = None
) -> RenalFunctionSummary:
    """Means, paired tests and CKD up-staging on the non-excluded complete pairs."""
    notes = list(notes or [])
    excluded = pairs["excluded"].notna()
    eligible = pairs[~excluded]
    complete = eligible.dropna(subset=["creatinine_pre", "creatinine_post"])
    scr = paired_tests(complete["creatinine_pre"], complete["creatinine_post"], "creatinine")
    gfr = paired_tests(complete["egfr_pre"], complete["egfr_post"], "eGFR")
    notes.extend(gfr.notes)
    rank = {s: i for i, s in enumerate(_STAGE_ORDER)}
    pre_rank = complete["ckd_pre"].map(rank)
    post_rank = complete["ckd_post"].map(rank)
    upstaged = int((post_rank > pre_rank).sum())
    ckd3_pre = complete["ckd_pre"].isin(CKD3_STAGES)
    ckd3_post = complete["ckd_post"].isin(CKD3_STAGES)
    mc_p: float | None = None
    if len(complete):
        # McNemar (exact binomial) on eGFR < 60 before vs after (exact, for small paired samples).
        table = [
            [int((~ckd3_pre & ~ckd3_post).sum()), int((~ckd3_pre & ckd3_post).sum())],
            [int((ckd3_pre & ~ckd3_post).sum()), int((ckd3_pre & ckd3_post).sum())],
        ]
        mc_p = _fnum(float(mcnemar(table, exact=True).pvalue))
    if 0 < len(complete) < 5:
        notes.append(f"only {len(complete)} complete pre/post pair(s): tests have little power")
    return RenalFunctionSummary(
        n=len(complete),
        equation=equation,
        creatinine_pre_mean=scr.pre_mean,
        creatinine_post_mean=scr.post_mean,
        egfr_pre_mean=gfr.pre_mean,
        egfr_post_mean=gfr.post_mean,
        egfr_change_mean=gfr.change_mean,
        paired_t_p=gfr.paired_t_p,
        wilcoxon_p=gfr.wilcoxon_p,
        ckd_upstaged_n=upstaged,
        mcnemar_p=mc_p,
        ckd3_pre_n=int(ckd3_pre.sum()),
        ckd3_post_n=int(ckd3_post.sum()),
        excluded_dialysis_n=int(excluded.sum()),
        missing_pre_n=int(eligible["creatinine_pre"].isna().sum()),
        missing_post_n=int(eligible["creatinine_post"].isna().sum()),
        pairs=pairs,
        notes=tuple(notes),
    )


def kidney_function_study(
    frames: RegistryFrames,
    ops: pd.DataFrame,
    *,
    equation: str = MDRD,
    windows: RenalWindows | None = None,
) -> RenalFunctionSummary:
    """Pairs plus summary in one call (what `salvage_study` uses)."""
    pairs, notes = kidney_function_pairs(frames, ops, equation=equation, windows=windows)
    return summarise_kidney_function(pairs, equation, notes)
