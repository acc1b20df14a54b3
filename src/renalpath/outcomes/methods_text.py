"""Methods and results paragraphs written from the study numbers, as a paper would state them.

Text is generated from the JSON-safe study summary so the words can never disagree with the
numbers beside them. Every test, equation, window and definition used is named, with software
versions, so a reader can reproduce the analysis.
"""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Any

EQUATION_TEXT: dict[str, str] = {
    # Levey et al., Ann Intern Med 2006;145:247-54 (IDMS-traceable MDRD Study equation)
    "mdrd": (
        "the 4-variable IDMS-traceable MDRD Study equation "
        "(175 × Scr^−1.154 × age^−0.203 × 0.742 if female × 1.212 if Black; Levey et al. 2006)"
    ),
    # Levey et al., Ann Intern Med 2009;150:604-12
    "ckd-epi-2009": "the CKD-EPI 2009 creatinine equation (Levey et al. 2009)",
    # Inker et al., N Engl J Med 2021;385:1737-49
    "ckd-epi-2021": "the race-free CKD-EPI 2021 creatinine equation (Inker et al. 2021)",
}


def software_versions() -> dict[str, str]:
    """Versions named in the methods text (python, lifelines, scipy, statsmodels, renalpath)."""
    out = {"python": platform.python_version()}
    for dist in ("renalpath", "lifelines", "scipy", "statsmodels", "pandas", "numpy"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "unknown"
    return out


def _num(value: Any, digits: int = 1, unit: str = "") -> str:
    if value is None:
        return "not estimable"
    return f"{float(value):.{digits}f}{unit}"


def _p(value: Any) -> str:
    if value is None:
        return "p not computed"
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def _listing(counts: dict[str, int]) -> str:
    parts = [f"{k.replace('_', ' ')} {v}" for k, v in counts.items() if v]
    return ", ".join(parts) if parts else "none recorded"


def methods_paragraph(s: dict[str, Any]) -> str:
    """The methods paragraph for a salvage study summary (JSON-safe dict)."""
    rf = s["renal_function"]
    w = s["definitions"]["renal_windows"]
    window = s.get("window") or {}
    span = (
        f"between {window.get('from') or 'the first record'} and "
        f"{window.get('to') or 'the last record'}"
    )
    v = s["software"]
    return (
        f"We reviewed all patients who underwent partial or radical nephrectomy {span}. "
        "A nephrectomy was classed as salvage when it was recorded with salvage intent or, "
        "without a recorded intent, when an earlier curative-intent ablation or partial "
        "nephrectomy had treated the same tumour (or, without tumour identifiers, the same side) "
        "and residual disease or local recurrence was recorded between the two; an explicit "
        "intent overrode the derived lineage. Each patient's first salvage nephrectomy was "
        "analysed, and the failed primary treatment was the first intervention of the lineage. "
        f"Pre-operative kidney function was the latest serum creatinine within {w['pre_days']} "
        "days on or before surgery, and post-operative function the creatinine closest to "
        f"{w['post_target_days']} days after surgery within {w['post_min_days']}–"
        f"{w['post_max_days']} days; several values on one day were averaged. eGFR was "
        f"calculated with {EQUATION_TEXT.get(rf['equation'], rf['equation'])}, using age on "
        "the day of the blood test. Patients expected pre-operatively to need permanent "
        "dialysis, or who started dialysis within "
        f"{w['dialysis_exclusion_days']} days after surgery, were excluded from the paired "
        "analysis. Pre- and post-operative values were compared with the paired t-test and the "
        "Wilcoxon signed-rank test; the proportion with eGFR < 60 mL/min/1.73 m² (KDIGO G3a–G5) "
        "before and after surgery was compared with McNemar's exact test, and CKD up-staging "
        "was any worsening of the KDIGO G category (categories on the eGFR rounded half up). "
        "Complications were graded by the Clavien–Dindo classification, reporting the highest "
        "grade per operation; grade IIIa or worse was major. Follow-up ended at the latest of "
        "death, last contact and any recorded event, laboratory or intervention date "
        "(months = days / 30.4375). Recurrence-free survival (event: "
        f"{s['rfs']['event_definition']}) was estimated by the Kaplan–Meier method with "
        "Greenwood standard errors and log-transformed 95% confidence intervals, medians as in "
        "R's survival package. Analyses used Python "
        f"{v['python']} with pandas {v['pandas']}, SciPy {v['scipy']}, statsmodels "
        f"{v['statsmodels']}, lifelines {v['lifelines']} and renalpath {v['renalpath']}."
    )


def _rfs_estimate(e: dict[str, Any]) -> str:
    """'12 months 85% (95% CI 70–100%)'; an estimate of 100% (no event yet) has no CI, and a
    time beyond follow-up is said to be so."""
    surv = e.get("survival")
    if surv is None:
        return f"{e['months']} months not estimable (beyond follow-up)"
    if surv >= 1.0:
        return f"{e['months']} months 100% (no recurrence yet, so no CI)"
    return (
        f"{e['months']} months {_num(100 * surv, 0, '%')} "
        f"(95% CI {_num(e['ci_low'] and 100 * e['ci_low'], 0)}–"
        f"{_num(e['ci_high'] and 100 * e['ci_high'], 0, '%')})"
    )


def results_paragraph(s: dict[str, Any]) -> str:
    """The results paragraph for a salvage study summary (JSON-safe dict)."""
    n, total = s["n_salvage"], s["n_surgical_patients"]
    if n == 0:
        return (
            f"Of {total} patients who underwent partial or radical nephrectomy in the study "
            "window, none had salvage surgery; no further statistics are reported."
        )
    rf, fu, rfs = s["renal_function"], s["followup_months"], s["rfs"]
    wi, bl, mg, cx = s["warm_ischemia"], s["blood_loss"], s["margins"], s["complications"]
    est = "; ".join(_rfs_estimate(e) for e in rfs["estimates"])
    pt = ", ".join(f"{k} {v}/{n}" for k, v in s["pt_stage"].items())
    return (
        f"Of {total} patients who underwent partial or radical nephrectomy, {n} "
        f"({_num(s['salvage_rate_pct'], 1, '%')}) needed salvage renal surgery. {s['male_n']} "
        f"({_num(s['male_pct'], 0, '%')}) were men; mean age was {_num(s['age_mean'], 1)} years "
        f"(SD {_num(s['age_sd'], 1)}; range {_num(s['age_min'], 1)}–{_num(s['age_max'], 1)}). "
        f"The failed primary treatment was {_listing(s['primary_modality'])}; "
        f"{s['primary_open_surgery_n']} had primary open surgery. Salvage procedures: "
        f"{_listing(s['salvage_procedure'])} (approach: {_listing(s['approach'])}). "
        f"{s['dialysis_expected_preop_n']} patient(s) were expected pre-operatively to need "
        f"permanent dialysis. In the {rf['n']} patient(s) with paired values, mean creatinine "
        f"went from {_num(rf['creatinine_pre_mean'], 2)} to "
        f"{_num(rf['creatinine_post_mean'], 2)} mg/dL and mean eGFR ({rf['equation']}) from "
        f"{_num(rf['egfr_pre_mean'], 1)} to {_num(rf['egfr_post_mean'], 1)} mL/min/1.73 m² "
        f"(mean change {_num(rf['egfr_change_mean'], 1)}; paired t-test {_p(rf['paired_t_p'])}, "
        f"Wilcoxon {_p(rf['wilcoxon_p'])}); {rf['ckd_upstaged_n']} moved to a worse CKD "
        f"category. Mean warm ischaemia time was {_num(wi['mean'], 1)} min (n = {wi['n']}) and "
        f"mean blood loss {_num(bl['mean'], 0)} mL (n = {bl['n']}). Pathology: {pt}; margins "
        f"were negative in {mg['negative_n']}/{mg['n']}. {cx['major_n']} operation(s) had a "
        f"major (Clavien–Dindo ≥ IIIa) complication. Mean follow-up was "
        f"{_num(fu['mean'], 1)} months (median {_num(fu['median'], 1)}; range "
        f"{_num(fu['min'], 1)}–{_num(fu['max'], 1)}). {s['recurrence_after_salvage_n']} "
        f"patient(s) had a recurrence after salvage surgery and {s['deaths_n']} died. "
        f"Recurrence-free survival: {est}."
    )
