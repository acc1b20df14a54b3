"""The salvage renal surgery study (the founding salvage-surgery study [V]) in one call.

Denominator: patients with a partial or radical nephrectomy dated in the window. Cohort: those
whose nephrectomy in the window is salvage — explicit `intent`, else the derived lineage
(an explicit intent wins) — one row per patient, their first such operation. The
failed primary modality is the root of the salvage lineage (parent of parent …), because a
repeat ablation between the first treatment and the salvage nephrectomy is itself salvage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from renalpath.clinical.egfr import EQUATIONS, MDRD
from renalpath.outcomes import perioperative as peri
from renalpath.outcomes.cohorts import (
    DAYS_PER_MONTH,
    SURGERY_TYPES,
    DateLike,
    effective_parent,
    first_per_patient,
    index_table,
    operations,
    to_timestamp,
)
from renalpath.outcomes.endpoints import ENDPOINT_TEXT, first_recurrence, time_to_event
from renalpath.outcomes.jsonsafe import json_safe
from renalpath.outcomes.methods_text import methods_paragraph, results_paragraph, software_versions
from renalpath.outcomes.renal_function import RenalWindows, kidney_function_study
from renalpath.outcomes.survival import KaplanMeier, kaplan_meier
from renalpath.registry.frames import RegistryFrames

RFS_MONTHS: tuple[int, ...] = (12, 24, 36, 60)
AT_RISK_MONTHS: tuple[int, ...] = (0, 12, 24, 36, 48, 60)
SMALL_COHORT = 5  # OHDSI CohortSurvival's default minCellCount


@dataclass(frozen=True)
class SalvageStudy:
    """Everything the JSON contract, the HTML/PDF report and the plots need."""

    summary: dict[str, Any]
    cohort: pd.DataFrame = field(repr=False)
    kidney_pairs: pd.DataFrame = field(repr=False)
    rfs_curve: KaplanMeier = field(repr=False)
    notes: tuple[str, ...] = ()

    def to_json_dict(self) -> dict[str, Any]:
        """The contract keys (plus `notes`, `definitions`, `software`); never NaN."""
        out: dict[str, Any] = json_safe({**self.summary, "notes": list(self.notes)})
        return out


def _root_of(parent: dict[str, str | None], start: str | None) -> str | None:
    """Follow the lineage to its first intervention (guards against cycles in bad data)."""
    if not isinstance(start, str):
        return None
    seen: set[str] = set()
    node = start
    while node not in seen:
        seen.add(node)
        nxt = parent.get(node)
        if not isinstance(nxt, str):
            break
        node = nxt
    return node


def _pct(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def _rfs_block(km: KaplanMeier) -> dict[str, Any]:
    est = km.at([m * DAYS_PER_MONTH for m in RFS_MONTHS])
    at_risk = km.at([m * DAYS_PER_MONTH for m in AT_RISK_MONTHS])

    def months(v: float | None) -> float | None:
        return None if v is None else v / DAYS_PER_MONTH

    return {
        "endpoint": "recurrence-free survival",
        "event_definition": ENDPOINT_TEXT["recurrence-free"],
        "n": km.n,
        "events": km.events,
        "estimates": [
            {
                "months": m,
                "time_days": m * DAYS_PER_MONTH,
                "survival": r["survival"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "n_risk": int(r["n_risk"]),
            }
            for m, r in zip(RFS_MONTHS, est.to_dict("records"), strict=True)
        ],
        "median": {
            "months": months(km.median),
            "ci_low_months": months(km.median_ci_low),
            "ci_high_months": months(km.median_ci_high),
        },
        "at_risk": [
            {"months": m, "n_risk": int(r)}
            for m, r in zip(AT_RISK_MONTHS, at_risk["n_risk"], strict=True)
        ],
        "table": km.to_json_dict()["table"],
        "conf_level": km.conf_level,
        "ci_method": "Greenwood variance, log transform (R survival default conf.type = 'log')",
    }


def salvage_study(
    frames: RegistryFrames,
    window_from: DateLike = None,
    window_to: DateLike = None,
    equation: str = MDRD,
    *,
    windows: RenalWindows | None = None,
) -> SalvageStudy:
    """Run the salvage study on a registry; tiny or empty cohorts give nulls and notes."""
    if equation not in EQUATIONS:
        raise ValueError(f"equation: {equation!r} is not allowed (allowed: {list(EQUATIONS)})")
    lo, hi = to_timestamp(window_from, "window_from"), to_timestamp(window_to, "window_to")
    renal_windows = windows or RenalWindows()
    notes: list[str] = []
    ops = operations(frames, window_from=lo, window_to=hi, types=SURGERY_TYPES)
    n_surgical = int(ops["patient_id"].nunique())
    salvage_ops = first_per_patient(ops[ops["intent_effective"] == "salvage"])
    cohort = index_table(frames, salvage_ops)
    n = len(cohort)
    if n_surgical == 0:
        notes.append("no partial or radical nephrectomy dated in the window")
    if n == 0:
        notes.append("no salvage nephrectomy in the window: study statistics are null")
    elif n < SMALL_COHORT:
        notes.append(
            f"only {n} salvage patient(s): estimates are unstable and small cells may need "
            "suppression before results leave the site"
        )

    # Failed primary modality = root of the lineage (explicit parent wins over derived).
    iv = frames.interventions
    parent = dict(zip(iv["intervention_id"], effective_parent(iv), strict=True))
    by_id = iv.set_index("intervention_id")
    cohort["primary_id"] = [_root_of(parent, p) for p in cohort["parent_effective"].tolist()]
    known = cohort["primary_id"].map(lambda x: x is not None and x in by_id.index)
    cohort["primary_type"] = cohort["primary_id"].where(known).map(by_id["type"])
    cohort["primary_approach"] = cohort["primary_id"].where(known).map(by_id["approach"])
    if n and (~known).any():
        notes.append(f"{int((~known).sum())} salvage operation(s) without a known primary")
    primary_open = int(
        (cohort["primary_type"].isin(SURGERY_TYPES) & (cohort["primary_approach"] == "open")).sum()
    )

    male_n = int((cohort["sex"] == "male").sum())
    age = peri.describe(cohort["age_years"])
    renal = kidney_function_study(frames, cohort, equation=equation, windows=renal_windows)
    fu_months = cohort["followup_days"] / DAYS_PER_MONTH
    fu = peri.describe(fu_months)
    rec = first_recurrence(frames, cohort)
    tte, tte_notes = time_to_event(frames, cohort, "recurrence-free")
    notes.extend(tte_notes)
    rfs = kaplan_meier(tte["time_days"], tte["event"], label="salvage")
    deaths_n = int(cohort["death_date"].notna().sum())

    summary: dict[str, Any] = {
        "n_surgical_patients": n_surgical,
        "n_salvage": n,
        "salvage_rate_pct": _pct(n, n_surgical),
        "male_n": male_n,
        "male_pct": _pct(male_n, n),
        "age_mean": age["mean"],
        "age_sd": age["sd"],
        "age_min": age["min"],
        "age_max": age["max"],
        "primary_modality": peri.counts(cohort["primary_type"]),
        "primary_open_surgery_n": primary_open,
        "salvage_procedure": peri.counts(cohort["type"]),
        "approach": peri.counts(cohort["approach"]),
        "dialysis_expected_preop_n": int(
            cohort["dialysis_expected_preop"].fillna(False).astype(bool).sum()
        ),
        "renal_function": renal.to_json_dict(),
        "warm_ischemia": peri.describe(cohort["warm_ischemia_min"]),
        "blood_loss": peri.describe(cohort["blood_loss_ml"]),
        "pt_stage": peri.pt_distribution(cohort["pt"]),
        "margins": peri.margins(cohort["margin"]),
        "complications": peri.complications(cohort["clavien_max"]),
        "followup_months": {k: fu[k] for k in ("mean", "median", "min", "max")},
        "recurrence_after_salvage_n": int(rec.notna().sum()),
        "deaths_n": deaths_n,
        "rfs": _rfs_block(rfs),
        "window": {
            "from": None if lo is None else lo.date().isoformat(),
            "to": None if hi is None else hi.date().isoformat(),
        },
        "definitions": {
            "denominator": "patients with a partial or radical nephrectomy dated in the window",
            "cohort": (
                "patients whose partial or radical nephrectomy in the window is salvage "
                "(explicit intent, else derived lineage); first such operation per patient"
            ),
            "renal_windows": dict(renal_windows.__dict__),
            "followup_end": (
                "latest of death, last contact and any event, lab or intervention date; "
                "months = days / 30.4375"
            ),
        },
        "software": software_versions(),
    }
    safe = json_safe(summary)
    safe["methods"] = methods_paragraph(safe)
    safe["results"] = results_paragraph(safe)
    notes.extend(renal.notes)
    return SalvageStudy(
        summary=safe,
        cohort=cohort,
        kidney_pairs=renal.pairs,
        rfs_curve=rfs,
        notes=tuple(notes),
    )
