"""The salvage study (its `study salvage --json` document) laid out as a paper's tables and figures.

Table and figure order follows the founding study's results section:
cohort characteristics, operative details and pathology, kidney function before/after,
cancer control. Every dash gets a footnote or note saying why it is there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from renalpath.reports import formatting as f
from renalpath.reports.inputs import SalvageReportInput
from renalpath.reports.plots import (
    EQUATION_LABEL,
    MIN_AT_RISK,
    axis_limit_months,
    data_uri,
    egfr_slope_plot,
    km_plot,
)
from renalpath.reports.tables import Table, extra_table
from renalpath.reports.versions import software_versions

DISCLAIMER = (
    "Not a medical device. This report summarises {data}; it supports research and audit, "
    "not decisions about individual patients. Check the numbers against the source records "
    "before publication."
)
DASH_LEGEND = (
    f"{f.DASH} marks a value that is not estimable or not recorded; the note beside it says why."
)

# Clavien-Dindo grades in severity order (Dindo et al., Ann Surg 2004;240:205-13).
_CD_ORDER = ("none", "I", "II", "IIIa", "IIIb", "IVa", "IVb", "V")


@dataclass(frozen=True)
class ReportFigure:
    number: int
    caption: str
    uri: str
    alt: str


@dataclass
class SalvageView:
    title: str
    window: str
    generated: str
    disclaimer: str
    methods: str
    results: str
    tables: list[Table] = field(default_factory=list)
    kidney_table: Table | None = None
    kidney_facts: Table | None = None
    rfs_table: Table | None = None
    egfr_figure: ReportFigure | None = None
    km_figure: ReportFigure | None = None
    notes: list[str] = field(default_factory=list)
    versions: list[tuple[str, str]] = field(default_factory=list)


def window_text(window: Mapping[str, Any] | None) -> str:
    """'2004-01-01 to 2012-12-31'; open ends are said in words."""
    w = window or {}
    lo, hi = w.get("from"), w.get("to")
    if lo and hi:
        return f"operations dated {lo} to {hi}"
    if lo:
        return f"operations dated from {lo}"
    if hi:
        return f"operations dated up to {hi}"
    return "all operation dates in the registry"


def _by_count(counts: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    return list((counts or {}).items())


def _characteristics(s: Mapping[str, Any]) -> Table:
    n = s["n_salvage"]
    t = Table("Table 1. Characteristics of the salvage cohort", ("Characteristic", "Value"))
    total = str(s["n_surgical_patients"])
    t.add("Patients with partial or radical nephrectomy in the window", total)
    t.add(
        "Salvage renal surgery, n (% of operated patients)",
        f.n_pct(n, s["n_surgical_patients"], 1),
    )
    t.add(f"Salvage cohort (n = {n})", "", kind="group")
    t.add("Male, n (%)", f.n_pct(s["male_n"], n), kind="sub")
    t.add("Age, years, mean ± SD", f.mean_sd(s["age_mean"], s["age_sd"]), kind="sub")
    t.add("Age, years, range", f.value_range(s["age_min"], s["age_max"]), kind="sub")
    t.add("Failed primary treatment, n (%)", "", kind="group")
    modalities = _by_count(s["primary_modality"])
    for name, k in modalities:
        t.add(f.label(name), f.n_pct(k, n), kind="sub")
    if not modalities:
        t.add("none recorded", f.DASH, kind="sub")
    t.add("Primary treatment was open surgery, n (%)", f.n_pct(s["primary_open_surgery_n"], n))
    t.add(
        "Expected pre-operatively to need permanent dialysis, n (%)",
        f.n_pct(s["dialysis_expected_preop_n"], n),
    )
    if s.get("age_sd") is None and n == 1:
        t.note("SD is not defined for a single patient.")
    if "unknown" in (s["primary_modality"] or {}):
        t.note("'unknown': the salvage operation's lineage does not reach a recorded primary.")
    t.note("Percentages are of the salvage cohort unless stated otherwise.")
    return t


def _operative(s: Mapping[str, Any]) -> Table:
    n = s["n_salvage"]
    t = Table(
        "Table 2. Salvage operation, pathology and complications",
        ("Characteristic", "n (%)"),
    )
    blocks = (
        ("Salvage procedure", s["salvage_procedure"]),
        ("Approach", s["approach"]),
        ("Pathological T category", s["pt_stage"]),
    )
    for heading, counts in blocks:
        t.add(heading, "", kind="group")
        items = _by_count(counts)
        for name, k in items:
            t.add(f.label(name), f.n_pct(k, n), kind="sub")
        if not items:
            t.add("none recorded", f.DASH, kind="sub")
    m = s["margins"] or {}
    stated = m.get("n") or 0
    t.add(f"Surgical margins (n = {stated} with a stated margin)", "", kind="group")
    t.add("negative", f.n_pct(m.get("negative_n"), stated), kind="sub")
    t.add("positive", f.n_pct(m.get("positive_n"), stated), kind="sub")
    if m.get("not_reported_n"):
        t.add("not reported or not applicable", str(m["not_reported_n"]), kind="sub")
        t.note("Margin percentages are of operations with a stated margin.")
    cx = dict(s["complications"] or {})
    t.add("Highest Clavien–Dindo grade per operation", "", kind="group")
    for grade in _CD_ORDER:
        if grade in cx:
            t.add(
                "no complication" if grade == "none" else f"grade {grade}",
                f.n_pct(cx[grade], n),
                kind="sub",
            )
    t.add("Major complication (grade IIIa or worse)", f.n_pct(cx.get("major_n"), n))
    t.note("Clavien–Dindo classification (Dindo et al., Ann Surg 2004); major = IIIa or worse.")
    return t


def _continuous(s: Mapping[str, Any]) -> Table:
    t = Table(
        "Table 3. Operative measures and follow-up",
        ("Measure", "n", "Mean", "SD", "Median", "Range"),
    )
    for name, block in (
        ("Warm ischaemia time, min", s["warm_ischemia"]),
        ("Estimated blood loss, mL", s["blood_loss"]),
    ):
        b = block or {}
        t.add(
            name,
            str(b.get("n", 0)),
            f.num(b.get("mean")),
            f.num(b.get("sd")),
            f.num(b.get("median")),
            f.value_range(b.get("min"), b.get("max")),
        )
        if b.get("n") == 0:
            t.note(f"{name}: not recorded for any patient, so no summary ({f.DASH}).")
        elif b.get("n") == 1:
            t.note(f"{name}: SD needs at least 2 values.")
        if b.get("missing_n"):
            t.note(f"{name}: missing for {b['missing_n']} patient(s), who are left out.")
    fu = s["followup_months"] or {}
    t.add(
        "Follow-up, months",
        str(s["n_salvage"]),
        f.num(fu.get("mean")),
        f.DASH,
        f.num(fu.get("median")),
        f.value_range(fu.get("min"), fu.get("max")),
    )
    t.note("Follow-up SD is not part of the study summary.")
    t.note("Warm ischaemia applies to clamped partial nephrectomies only.")
    return t


def _events(s: Mapping[str, Any]) -> Table:
    n = s["n_salvage"]
    t = Table("Table 4. Events after salvage surgery", ("Event", "n (%)"))
    t.add("Recurrence after salvage surgery", f.n_pct(s["recurrence_after_salvage_n"], n))
    t.add("Death from any cause", f.n_pct(s["deaths_n"], n))
    return t


def _kidney(s: Mapping[str, Any]) -> tuple[Table, Table]:
    rf = s["renal_function"] or {}
    eq = str(rf.get("equation") or "")
    eq_name = EQUATION_LABEL.get(eq, eq or f.DASH)
    t = Table(
        "Table 5. Kidney function before and after salvage surgery (paired patients)",
        ("Measure (mean)", "Before", "After", "Change", "Paired t-test p", "Wilcoxon p"),
    )
    c_pre, c_post = rf.get("creatinine_pre_mean"), rf.get("creatinine_post_mean")
    c_change = None if c_pre is None or c_post is None else c_post - c_pre
    t.add("Serum creatinine, mg/dL", f.num(c_pre, 2), f.num(c_post, 2), f.num(c_change, 2), "", "")
    t.add(
        "eGFR, mL/min/1.73 m²",
        f.num(rf.get("egfr_pre_mean")),
        f.num(rf.get("egfr_post_mean")),
        f.num(rf.get("egfr_change_mean")),
        f.p_value(rf.get("paired_t_p")),
        f.p_value(rf.get("wilcoxon_p")),
    )
    n = int(rf.get("n") or 0)
    t.note(f"eGFR by the {eq_name} equation; n = {n} patient(s) with both values.")
    t.note("Paired tests are reported for eGFR, the primary kidney-function measure.")
    if n == 0:
        t.note(f"{f.DASH}: no patient has both a pre- and a post-operative creatinine.")
    elif rf.get("paired_t_p") is None or rf.get("wilcoxon_p") is None:
        t.note(
            f"{f.DASH} for a p-value: the test is undefined here (fewer than 2 pairs, or all "
            "paired differences equal)."
        )
    facts = Table("Kidney function: patients and categories", ("Item", "Value"))
    facts.add("Patients with paired values", str(n))
    facts.add("Equation", eq_name)
    facts.add("Moved to a worse KDIGO G category, n (%)", f.n_pct(rf.get("ckd_upstaged_n"), n))
    if "ckd3_pre_n" in rf:
        facts.add(
            "eGFR < 60 (G3a–G5) before → after, n",
            f"{rf.get('ckd3_pre_n', f.DASH)} → {rf.get('ckd3_post_n', f.DASH)}",
        )
        facts.add("McNemar exact p, eGFR < 60 before vs after", f.p_value(rf.get("mcnemar_p")))
    facts.add(
        "Excluded: dialysis expected pre-operatively or started ≤ 30 days after surgery",
        str(rf.get("excluded_dialysis_n", f.DASH)),
    )
    if "missing_pre_n" in rf:
        facts.add(
            "No creatinine in the pre / post window, n",
            f"{rf.get('missing_pre_n')} / {rf.get('missing_post_n')}",
        )
    return t, facts


def _rfs(s: Mapping[str, Any]) -> Table:
    rfs = s["rfs"] or {}
    n = int(rfs.get("n") or 0)
    t = Table(
        "Table 6. Recurrence-free survival after salvage surgery (Kaplan–Meier)",
        ("Months after surgery", "At risk", "RFS, % (95% CI)"),
    )
    not_estimable = False
    for e in rfs.get("estimates") or ():
        if e.get("survival") is None:
            not_estimable = True
        t.add(
            str(e.get("months")),
            str(e.get("n_risk", f.DASH)),
            f.estimate_ci(e.get("survival"), e.get("ci_low"), e.get("ci_high")),
        )
    med = rfs.get("median") or {}
    if n == 0:
        median_text = f.DASH
    elif med.get("months") is None:
        median_text = "not reached"
    else:
        hi = med.get("ci_high_months")
        median_text = (
            f"{f.num(med['months'])} ({f.num(med.get('ci_low_months'))}–"
            f"{'not reached' if hi is None else f.num(hi)})"
        )
    t.add("Median RFS, months (95% CI)", "", median_text)
    if rfs.get("event_definition"):
        t.note(f"Event: {rfs['event_definition']}.")
    t.note(
        f"n = {n}, events = {rfs.get('events', 0)}. 95% CI: "
        f"{rfs.get('ci_method') or 'Greenwood variance, log transform'}."
    )
    if n == 0:
        t.note(f"{f.DASH}: no salvage patients, so no survival curve.")
    elif not_estimable:
        t.note(f"{f.DASH}: beyond the last follow-up, so not estimable.")
    if any(f.NO_EVENT_CI in row.cells[-1] for row in t.rows):
        t.note(
            f"'{f.NO_EVENT_CI}': no recurrence by that time, so RFS is 100% and a 95% CI "
            "is not defined (its variance is 0)."
        )
    return t


def _egfr_figure(inp: SalvageReportInput, number: int) -> ReportFigure | None:
    if not inp.kidney_pairs:
        return None
    eq = str((inp.study["renal_function"] or {}).get("equation") or "")
    png = egfr_slope_plot(inp.kidney_pairs, eq)
    return ReportFigure(
        number,
        f"Figure {number}. eGFR before and after salvage surgery, one line per patient "
        f"(orange: fell; blue: unchanged or rose; black: mean), by the "
        f"{EQUATION_LABEL.get(eq, eq)} equation. Dashed line: 60 mL/min/1.73 m² (KDIGO G3a). "
        "Patients excluded for dialysis and patients without both values are not shown; "
        "numbers label patients within this report only.",
        data_uri(png, "png"),
        "Per-patient eGFR before and after surgery",
    )


def _km_figure(inp: SalvageReportInput, number: int, min_at_risk: int) -> ReportFigure:
    from renalpath.reports.survival_view import cut_note

    curve = inp.curve()
    cut = axis_limit_months([curve])
    png = km_plot(
        [curve], y_label="Recurrence-free survival", x_max_months=cut, min_at_risk=min_at_risk
    )
    shown = "" if cut is None else f" Shown to {f.num(cut, 0)} months, the last fixed time."
    return ReportFigure(
        number,
        f"Figure {number}. Recurrence-free survival after salvage surgery (Kaplan–Meier) with "
        "95% confidence band; ticks mark censored patients where known; numbers at risk below. "
        f"RFS estimates in the table above.{shown} " + cut_note(min_at_risk),
        data_uri(png, "png"),
        "Kaplan-Meier curve of recurrence-free survival",
    )


def build_salvage_view(
    inp: SalvageReportInput, *, today: dt.date | None = None, min_at_risk: int = MIN_AT_RISK
) -> SalvageView:
    """Everything the salvage template prints, formatted."""
    s = inp.study
    kidney, facts = _kidney(s)
    tables = [_characteristics(s)]
    if inp.table1 is not None:
        tables.append(extra_table(inp.table1, "Table 1b. Baseline characteristics (tableone)"))
    tables += [_operative(s), _continuous(s), _events(s)]
    notes: list[str] = []
    for note in [
        *(s.get("notes") or ()),
        *((s["renal_function"] or {}).get("notes") or ()),
        *inp.extra_notes,
    ]:
        if note not in notes:
            notes.append(str(note))
    if not inp.kidney_pairs:
        notes.append(
            "Per-patient kidney function values were not supplied, so the "
            "before/after plot is omitted."
        )
    notes.append(DASH_LEGEND)
    egfr_fig = _egfr_figure(inp, 1)
    km_fig = _km_figure(inp, 2 if egfr_fig else 1, min_at_risk)
    return SalvageView(
        title=inp.title,
        window=window_text(s.get("window")),
        generated=(today or dt.date.today()).isoformat(),
        disclaimer=DISCLAIMER.format(data=inp.data_note),
        methods=str(s.get("methods") or ""),
        results=str(s.get("results") or ""),
        tables=tables,
        kidney_table=kidney,
        kidney_facts=facts,
        rfs_table=_rfs(s),
        egfr_figure=egfr_fig,
        km_figure=km_fig,
        notes=notes,
        versions=software_versions(s.get("software")),
    )
