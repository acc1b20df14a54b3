"""Cross-row rules of the coded records (staging, performance, disease status, metastases,
systemic therapy, radiotherapy): references, dates against the patient's life, date order
within a course, and the few consistency rules each file has.

Driven by the data dictionary: every coded file names its patient directly (`patient_id`) or
through its tumour (`tumour_id`), and every date column is checked the same way. Called by
`validate.cross_checks`, so folder imports and single-record writes apply the same rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.staging import stage_group
from renalpath.registry.dictionary import AGENTS, CODED_FILES, FILES, FileSpec

if TYPE_CHECKING:
    from renalpath.registry.validate import Reference, Report

# A course's end before its start is an error in these files: (start column, end column).
_COURSES = {
    "systemic_therapy": ("start_date", "end_date"),
    "radiotherapy": ("start_date", "end_date"),
}
_KARNOFSKY_STEP = 10  # the Karnofsky scale's grades are multiples of 10 (Karnofsky 1949)


def check_coded(typed: dict[str, pd.DataFrame], ref: Reference, report: Report) -> None:
    """Apply the rules to every coded file present in `typed` (see module doc)."""
    from renalpath.registry.validate import _date_rule as date_rule
    from renalpath.registry.validate import _unknown_ref as unknown_ref

    pats = ref.patients
    tum = ref.tumours
    for name in CODED_FILES:
        frame = typed.get(name)
        if frame is None:
            continue
        spec = FILES[name]
        cols = spec.column_names
        pid = pd.Series(None, index=frame.index, dtype=object)
        ok = pd.Series(False, index=frame.index)
        if "patient_id" in cols:
            ok = unknown_ref(spec, frame, "patient_id", pats.index, "patient", report)
            pid = frame["patient_id"].where(ok)
        if "tumour_id" in cols:
            tok = unknown_ref(spec, frame, "tumour_id", tum.index, "tumour", report)
            owner = frame["tumour_id"].where(tok).map(tum["patient_id"])
            if "patient_id" in cols:
                wrong = tok & ok & owner.ne(frame["patient_id"])
                reasons = [f"tumour belongs to patient {p}" for p in owner[wrong]]
                report.add_rows("error", spec, frame, wrong, "tumour_id", reasons)
            else:
                pid = owner
        birth, death = pid.map(pats["birth_date"]), pid.map(pats["death_date"])
        what = spec.form_label.lower()
        for col in spec.columns:
            if col.type != "date":
                continue
            date_rule(
                report,
                "error",
                spec,
                frame,
                col.name,
                frame[col.name] < birth,
                f"{what} before birth ({{other}})",
                birth,
            )
            date_rule(
                report,
                "error",
                spec,
                frame,
                col.name,
                frame[col.name] > death,
                f"{what} after death ({{other}})",
                death,
            )
        if name in _COURSES:
            start, end = _COURSES[name]
            date_rule(
                report,
                "error",
                spec,
                frame,
                end,
                frame[end] < frame[start],
                "course ends before it starts ({other})",
                frame[start],
            )
        if name == "performance":
            _performance(spec, frame, report)
        elif name == "staging":
            _staging(spec, frame, report)
        elif name == "systemic_therapy":
            _regimens(spec, frame, report)


def _performance(spec: FileSpec, f: pd.DataFrame, report: Report) -> None:
    neither = f["ecog"].isna() & f["karnofsky"].isna()
    report.add_rows("error", spec, f, neither, "ecog", "neither ECOG nor Karnofsky is given")
    kps = f["karnofsky"].astype("Float64")
    off_step = (kps.notna() & (kps % _KARNOFSKY_STEP != 0)).fillna(False).astype(bool)
    report.add_rows(
        "error",
        spec,
        f,
        off_step,
        "karnofsky",
        "Karnofsky grades are multiples of 10 (0, 10, … 100)",
    )


def _expected_group(t: object, n: object, m: object) -> str | None:
    try:
        return stage_group(str(t), str(n), str(m))
    except ClinicalInputError:
        return None


def _staging(spec: FileSpec, f: pd.DataFrame, report: Report) -> None:
    """A recorded stage group that the AJCC 8 grouping of its own T, N and M contradicts
    (`clinical.staging.stage_group`) is reported as a warning: it is kept as recorded."""
    full = (
        f["stage_group"].notna()
        & f["t_category"].notna()
        & f["n_category"].notna()
        & f["m_category"].notna()
        & f["ajcc_edition"].eq("8")
    )
    if not full.any():
        return
    triples = f.loc[full, ["t_category", "n_category", "m_category"]]
    expected = pd.Series(
        [_expected_group(*row) for row in triples.itertuples(index=False, name=None)],
        index=triples.index,
        dtype=object,
    )
    clash = pd.Series(False, index=f.index)
    clash.loc[full] = expected.notna() & expected.ne(f.loc[full, "stage_group"])
    reasons = [
        f"stage {g} recorded but {t} {n} {m} is stage {e} (AJCC 8)"
        for g, t, n, m, e in zip(
            f["stage_group"][clash],
            f["t_category"][clash],
            f["n_category"][clash],
            f["m_category"][clash],
            expected[clash[full]],
            strict=True,
        )
    ]
    report.add_rows("warning", spec, f, clash, "stage_group", reasons)


def regimen_problem(regimen: str, agent: str | None) -> str | None:
    """Why a regimen cell is not allowed, or None: agent names of `registry/codes/agents.csv`
    joined by +, each once, including the row's own agent."""
    parts = regimen.split("+")
    unknown = [p for p in parts if p not in AGENTS]
    if unknown:
        return (
            f"unknown agent(s) {', '.join(map(repr, unknown))}: write the agents joined by + "
            f"(allowed agents: {', '.join(AGENTS)})"
        )
    if len(set(parts)) != len(parts):
        return "an agent is named twice"
    if agent is not None and agent not in parts:
        return f"the regimen does not include this row's agent ({agent})"
    return None


def _regimens(spec: FileSpec, f: pd.DataFrame, report: Report) -> None:
    given = f["regimen"].notna()
    if not given.any():
        return
    pairs = f.loc[given, ["regimen", "agent"]]
    verdict = {
        (r, a): regimen_problem(str(r), None if a is None else str(a))
        for r, a in pairs.drop_duplicates().itertuples(index=False, name=None)
    }
    reasons = pd.Series(
        [verdict[(r, a)] for r, a in pairs.itertuples(index=False, name=None)],
        index=pairs.index,
        dtype=object,
    )
    bad = pd.Series(False, index=f.index)
    bad.loc[given] = reasons.notna().to_numpy(dtype=bool)
    report.add_rows("error", spec, f, bad, "regimen", reasons[bad[given]].tolist())
