"""Derived registry values: eGFR from creatinine and the salvage lineage.

Both are pure pandas functions of registry rows, so the importer (which stores eGFR and
lineage), single-record edits and `registry.frames` (which recomputes eGFR with another
equation on demand) share one implementation. The follow-up end has its own module
(`registry.followup`: the pandas and the SQL form side by side).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd

from renalpath.clinical.egfr import egfr_array
from renalpath.clinical.units import creatinine_to_mg_dl
from renalpath.registry.dictionary import ABLATION_TYPES
from renalpath.registry.vocab import lab_loinc, ucum_units

DEFAULT_EQUATION = "ckd-epi-2021"

# --- eGFR ----------------------------------------------------------------------------------


def age_completed_years(birth: pd.Series, on: pd.Series) -> pd.Series:
    """Age in completed years on a date (as a laboratory report or the calculator takes it)."""
    b = pd.to_datetime(birth)
    d = pd.to_datetime(on)
    years = d.dt.year - b.dt.year
    before_birthday = (d.dt.month < b.dt.month) | (
        (d.dt.month == b.dt.month) & (d.dt.day < b.dt.day)
    )
    return (years - before_birthday.astype(int)).astype(float)


def compute_egfr(
    labs: pd.DataFrame, patients: pd.DataFrame, equation: str = DEFAULT_EQUATION
) -> tuple[pd.Series, pd.Series]:
    """eGFR (unrounded, mL/min/1.73 m²) and the equation used, for every creatinine row.

    `labs` needs patient_id, date, test, value, unit; `patients` is indexed by patient_id with
    sex, birth_date and black_race. Non-creatinine rows, unknown units and adults-only
    violations (age < 18: the equations were developed in adults; sources in
    `clinical.egfr`) give NaN and no equation. Black race is passed only to the legacy
    equations (the calculator ignores it for the race-free CKD-EPI 2021).
    """
    egfr = pd.Series(np.nan, index=labs.index, dtype=float)
    eq = pd.Series(None, index=labs.index, dtype=object)
    crea = labs["test"].eq("creatinine") & labs["value"].notna() & labs["unit"].notna()
    if not crea.any():
        return egfr, eq
    rows = labs.loc[crea]
    mg_dl = _creatinine_mg_dl(rows["value"], rows["unit"])
    pid = rows["patient_id"]
    sex = pid.map(patients["sex"])
    birth = pid.map(patients["birth_date"])
    black = pid.map(patients["black_race"].map(lambda v: v is True)).eq(True)
    age = age_completed_years(birth, rows["date"])
    usable = mg_dl.notna() & sex.isin(("male", "female")) & (age >= 18)
    if usable.any():
        values = egfr_array(
            mg_dl[usable].to_numpy(float),
            age[usable].to_numpy(float),
            sex[usable].eq("female").to_numpy(bool),
            equation,
            black[usable].to_numpy(bool),
        )
        idx = usable[usable].index
        egfr.loc[idx] = values
        eq.loc[idx] = equation
    return egfr, eq


LAB_CODE_COLUMNS = ("loinc", "ucum")


def lab_codes(labs: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The derived LOINC term and UCUM unit code of each lab row (`test`, `unit`, `equation`
    columns; None where no verified code fits), worked out once per distinct triple."""
    units = ucum_units()
    keys = list(
        zip(
            labs["test"].tolist(),
            labs["unit"].tolist(),
            labs["equation"].tolist() if "equation" in labs else [None] * len(labs),
            strict=True,
        )
    )
    cache: dict[tuple[Any, Any, Any], tuple[str | None, str | None]] = {}
    for key in set(keys):
        test, unit, equation = key
        code = lab_loinc(str(test), str(unit), "" if equation is None else str(equation))
        ucum_code = units.get(str(unit), ("", ""))[0]
        cache[key] = (code.loinc if code is not None else None, ucum_code or None)
    loinc = pd.Series([cache[k][0] for k in keys], index=labs.index, dtype=object)
    ucum = pd.Series([cache[k][1] for k in keys], index=labs.index, dtype=object)
    return loinc, ucum


def _creatinine_mg_dl(values: pd.Series, units: pd.Series) -> pd.Series:
    """mg/dL through the calculator's unit conversion, once per distinct (value, unit)."""
    pairs = pd.DataFrame(
        {"v": values.astype(float).to_numpy(), "u": units.astype(str).to_numpy(object)}
    )
    distinct = pairs.drop_duplicates(ignore_index=True)
    converted: list[float] = []
    for v, u in zip(distinct["v"].tolist(), distinct["u"].tolist(), strict=True):
        try:
            converted.append(creatinine_to_mg_dl(v, u))
        except ValueError:
            converted.append(np.nan)
    distinct = distinct.assign(mg_dl=converted)
    out = pairs.merge(distinct, on=["v", "u"], how="left")["mg_dl"]
    return pd.Series(out.to_numpy(float), index=values.index, dtype=float)


# --- salvage lineage -----------------------------------------------------------------------

# A PN, RN or ablation may be salvage; its parent is an earlier curative-intent
# ablation or partial nephrectomy; residual disease or local recurrence must lie between.
SALVAGE_CAPABLE = ("partial_nephrectomy", "radical_nephrectomy", *ABLATION_TYPES)
PARENT_CAPABLE = ("partial_nephrectomy", *ABLATION_TYPES)
CURATIVE_INTENTS = ("primary", "salvage")
FAILURE_EVENTS = ("residual_disease", "local_recurrence")

LINEAGE_COLUMNS = (
    "intervention_id",
    "side_derived",
    "intent_derived",
    "parent_intervention_id_derived",
    "lineage_source",
)
# The intervention columns the lineage is derived from.
LINEAGE_INPUTS = (
    "intervention_id",
    "patient_id",
    "tumour_id",
    "date",
    "type",
    "side",
    "intent",
    "parent_intervention_id",
)


def derive_lineage(
    interventions: pd.DataFrame, tumours: pd.DataFrame, events: pd.DataFrame
) -> pd.DataFrame:
    """Effective side, intent and parent of every intervention (the salvage lineage).

    Rules, in order (choices beyond the basic salvage definition above are marked *):
    - `side_derived` = the intervention's side, else its tumour's side.
    - An explicit `intent` wins (`lineage_source` "explicit"); its parent is the explicit
      `parent_intervention_id`, else — for explicit salvage only — the latest earlier eligible
      intervention on the same tumour/side (no failure event required)*.
    - Blank intent with an explicit parent → salvage of that parent*.
    - Blank intent, PN/RN/ablation → salvage when an earlier curative-intent (primary or
      salvage, explicit or derived) ablation or PN treated the same tumour — or, when either
      tumour id is missing, the same side — and a residual_disease or local_recurrence event on
      that tumour/side has parent.date < event.date ≤ this date*; parent = the latest such
      intervention. Otherwise primary.
    - An event without a tumour id is patient-level and counts for any side*.
    - Blank intent for other types (surveillance, systemic, …) stays blank (not derivable).
    A new tumour on the other kidney never matches: different tumour id, or different side.
    """
    iv = interventions.copy()
    tumour_side = (
        tumours.set_index("tumour_id")["side"] if len(tumours) else pd.Series(dtype=object)
    )
    iv["side_derived"] = iv["side"].where(iv["side"].notna(), iv["tumour_id"].map(tumour_side))
    iv["lineage_source"] = np.where(iv["intent"].notna(), "explicit", "derived")
    iv["intent_derived"] = iv["intent"]
    iv["parent_intervention_id_derived"] = iv["parent_intervention_id"]
    blank = iv["intent"].isna()
    iv.loc[blank & iv["parent_intervention_id"].notna(), "intent_derived"] = "salvage"
    iv.loc[
        blank & iv["parent_intervention_id"].isna() & iv["type"].isin(SALVAGE_CAPABLE),
        "intent_derived",
    ] = "primary"

    failures = events[events["type"].isin(FAILURE_EVENTS)]
    candidates = set(failures["patient_id"]) | set(
        iv.loc[iv["intent"].eq("salvage") & iv["parent_intervention_id"].isna(), "patient_id"]
    )
    todo = iv["patient_id"].isin(candidates)
    if todo.any():
        ev_side = failures["tumour_id"].map(tumour_side)
        fail = failures.assign(side=ev_side)
        # One pass of itertuples over all rows, grouped in Python: per-group DataFrame
        # iteration costs milliseconds per patient and dominated 100,000-patient imports.
        fail_by_patient: dict[Any, list[Any]] = {}
        for f in fail.itertuples(index=False):
            fail_by_patient.setdefault(f.patient_id, []).append(f)
        sub = iv[todo].sort_values(["patient_id", "date", "intervention_id"])
        rows_by_patient: dict[Any, list[tuple[Hashable, Any]]] = {}
        for idx, row in zip(sub.index, sub.itertuples(index=False), strict=True):
            rows_by_patient.setdefault(row.patient_id, []).append((idx, row))
        updates: dict[Hashable, tuple[str | None, str | None]] = {}
        for pid, group in rows_by_patient.items():
            updates.update(_patient_lineage(group, fail_by_patient.get(pid, [])))
        if updates:
            idx = list(updates)
            iv.loc[idx, "intent_derived"] = [v[0] for v in updates.values()]
            iv.loc[idx, "parent_intervention_id_derived"] = [v[1] for v in updates.values()]
    return iv[list(LINEAGE_COLUMNS)]


def _same_scope(a: Any, b: Any) -> bool:
    """Same tumour when both have tumour ids, else the same (known) side."""
    if isinstance(a.tumour_id, str) and isinstance(b.tumour_id, str):
        return bool(a.tumour_id == b.tumour_id)
    return isinstance(a.side_derived, str) and a.side_derived == b.side_derived


def _event_on(parent: Any, event: Any) -> bool:
    if isinstance(event.tumour_id, str):
        if isinstance(parent.tumour_id, str):
            return bool(event.tumour_id == parent.tumour_id)
        return isinstance(event.side, str) and event.side == parent.side_derived
    return True  # patient-level event (no tumour id): counts for either side


def _patient_lineage(
    group: list[tuple[Hashable, Any]], fails: list[Any]
) -> dict[Hashable, tuple[str | None, str | None]]:
    """`group`: (index, row) of one patient's interventions in date order."""
    done: list[tuple[Any, str | None]] = []  # (row, effective intent) in date order
    out: dict[Hashable, tuple[str | None, str | None]] = {}
    for idx, row in group:
        intent: str | None = _text(row.intent_derived)
        parent: str | None = _text(row.parent_intervention_id_derived)
        explicit_parent = isinstance(row.parent_intervention_id, str)
        if not explicit_parent and row.type in SALVAGE_CAPABLE:
            if row.lineage_source == "explicit":
                if row.intent == "salvage":
                    found = _find_parent(row, done, fails, need_event=False)
                    parent = found.intervention_id if found is not None else None
            else:
                found = _find_parent(row, done, fails, need_event=True)
                if found is not None:
                    intent, parent = "salvage", found.intervention_id
        out[idx] = (intent, parent)
        done.append((row, intent))
    return out


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _find_parent(
    row: Any, done: list[tuple[Any, str | None]], fails: list[Any], need_event: bool
) -> Any:
    for prev, prev_intent in reversed(done):
        if not prev.date < row.date:
            continue
        if prev.type not in PARENT_CAPABLE or prev_intent not in CURATIVE_INTENTS:
            continue
        if not _same_scope(row, prev):
            continue
        if not need_event:
            return prev
        if any(f.date > prev.date and f.date <= row.date and _event_on(prev, f) for f in fails):
            return prev
    return None
