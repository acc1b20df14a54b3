"""Cohorts: which interventions and patients an analysis is about, with attrition counts.

A cohort is declared (window, intervention types, intents, cT, histology, first per patient),
and every restriction reports how many rows it kept, as OHDSI ATLAS does, so a
reader can see where the denominators come from. `index_table` turns a set of interventions into
one analysis row each, joined with patient, tumour, pathology, complications and follow-up —
the shape every downstream table, test and survival curve reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionDtype, take

from renalpath.clinical.clavien_dindo import GRADES, grade_rank, is_major
from renalpath.clinical.common import ClinicalInputError, Problem
from renalpath.clinical.durations import DAYS_PER_MONTH as DAYS_PER_MONTH  # re-exported
from renalpath.clinical.durations import DAYS_PER_YEAR as DAYS_PER_YEAR  # re-exported
from renalpath.registry.dictionary import T_CATEGORIES
from renalpath.registry.followup import followup_end as registry_followup_end
from renalpath.registry.frames import RegistryFrames

SURGERY_TYPES: tuple[str, ...] = ("partial_nephrectomy", "radical_nephrectomy")
# registry CSV contract event types that mean the cancer came back after treatment.
RECURRENCE_EVENTS: tuple[str, ...] = ("local_recurrence", "distant_metastasis")
# Months = days / 30.4375 and years = days / 365.25, defined once in clinical.durations.

# Order used to pick the worst pT when an intervention has several pathology rows: the data
# dictionary's categories in their stage order (TX, not a stage, ranks below every category).
_T_ORDER = tuple(t for t in T_CATEGORIES if t != "TX")

DateLike = dt.date | str | pd.Timestamp | None


def to_timestamp(value: DateLike, name: str) -> pd.Timestamp | None:
    """Window bounds: ISO dates; refused with the field named when unreadable."""
    if value is None or value == "":
        return None
    try:
        return pd.Timestamp(value).normalize()
    except (ValueError, TypeError) as err:
        raise ValueError(f"{name}: {value!r} is not a date (allowed: YYYY-MM-DD)") from err


def window_mask(dates: pd.Series, window_from: DateLike, window_to: DateLike) -> pd.Series:
    """Dates inside [from, to], both ends inclusive; open ends when None."""
    lo, hi = to_timestamp(window_from, "window_from"), to_timestamp(window_to, "window_to")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"window: from {lo.date()} is after to {hi.date()}")
    mask = dates.notna()
    if lo is not None:
        mask &= dates >= lo
    if hi is not None:
        mask &= dates <= hi
    return mask


def effective_intent(interventions: pd.DataFrame) -> pd.Series:
    """an explicit `intent` wins over the derived lineage."""
    return interventions["intent"].where(
        interventions["intent"].notna(), interventions["intent_derived"]
    )


def effective_parent(interventions: pd.DataFrame) -> pd.Series:
    """Explicit parent id when given, else the derived one."""
    return interventions["parent_intervention_id"].where(
        interventions["parent_intervention_id"].notna(),
        interventions["parent_intervention_id_derived"],
    )


def normalise_t(value: object) -> str | None:
    """'pT1a', 'T1a', '1a', 'cT1A' → 'T1a'; blank → None (TNM, AJCC 8th)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    if not text:
        return None
    if text[:1].lower() in ("p", "c", "y") and text[1:2].upper() == "T":
        text = text[1:]
    if text[:1].upper() == "T":
        text = text[1:]
    if not text:
        return None
    head = text[:1].upper() if text[:1].lower() == "x" else text[:1]
    tail = text[1:].lower() if text[:2].lower() != "is" else text[1:]
    return "T" + head + tail


def t_group(t: str | None) -> str | None:
    """T0 / T1-T2 / T3-T4 as in the KiTS19 R reference fits (the KiTS19 reference analyses)."""
    if t is None or t.startswith("TX"):
        return None
    if t == "T0":
        return "T0"
    if t[1:2] in ("1", "2") or t == "Tis":
        return "T1-T2"
    if t[1:2] in ("3", "4"):
        return "T3-T4"
    return None


def _map_unique(series: pd.Series, fn: Callable[[Any], Any]) -> pd.Series:
    """Apply a per-value function once per distinct value (registry columns repeat a lot)."""
    mapping = {v: fn(v) for v in series.dropna().unique()}
    return series.map(mapping).astype(object).where(series.notna(), None)


def _lookup(keys: pd.Series, table: pd.DataFrame) -> Callable[[str], pd.Series]:
    """`keys.map(table[col])` for many columns, hashing the keys once instead of per column.

    Same result as `Series.map` with a Series (positions from `get_indexer`, missing keys
    filled with the column dtype's NA), which on a million-row cohort re-hashed the ids for
    every column mapped.
    """
    pos = table.index.get_indexer(pd.Index(keys))

    def column(name: str) -> pd.Series:
        col = table[name]
        values = col.array if isinstance(col.dtype, ExtensionDtype) else col.to_numpy()
        return pd.Series(take(values, pos, allow_fill=True), index=keys.index)

    return column


def _t_rank(t: str | None) -> int:
    return _T_ORDER.index(t) if t in _T_ORDER else -1


def _only(frame: pd.DataFrame, col: str, keep: pd.Series | None) -> pd.DataFrame:
    return frame if keep is None else frame[frame[col].isin(keep)]


def subset_ids(frames: RegistryFrames, patient_ids: pd.Series) -> pd.Series | None:
    """The ids to filter by, or None when they are most of the registry (filtering would
    cost more than it saves on a million-patient registry)."""
    return patient_ids if len(patient_ids) * 2 < len(frames.patients) else None


def death_dates(frames: RegistryFrames, patient_ids: pd.Series | None = None) -> pd.Series:
    """Date of death per patient: `death_date`, else the earliest `death` event."""
    pats = _only(frames.patients, "patient_id", patient_ids)
    p = pats.set_index("patient_id")["death_date"]
    events = _only(frames.events, "patient_id", patient_ids)
    ev = events[events["type"] == "death"].groupby("patient_id", sort=False)["date"].min()
    return p.where(p.notna(), ev.reindex(p.index)).rename("death_date")


def followup_end(frames: RegistryFrames, patient_ids: pd.Series | None = None) -> pd.Series:
    """Latest of death, last contact and any event, lab or intervention date (the rule and
    its SQL twin: `registry.followup`).

    A registry-supplied `followup_end_date` is used where present (the same rule, computed
    by the database when the frames were loaded); otherwise the rule is applied here.
    `patient_ids` limits the work to the patients an analysis needs.
    """
    pats = _only(frames.patients, "patient_id", patient_ids)
    given = pats.set_index("patient_id")["followup_end_date"]
    if given.notna().all():  # the registry computed it for everyone (SQL loaders do)
        return given.rename("followup_end")
    computed = registry_followup_end(
        pats,
        _only(frames.events, "patient_id", patient_ids),
        _only(frames.labs, "patient_id", patient_ids),
        _only(frames.interventions, "patient_id", patient_ids),
    )
    return given.where(given.notna(), computed).rename("followup_end")


def first_per_patient(ops: pd.DataFrame) -> pd.DataFrame:
    """Earliest intervention per patient; same-day ties broken by intervention id.

    Sorting a million text ids is slow, so only same-patient same-day ties are id-sorted.
    """
    ordered = ops.sort_values("date", kind="mergesort")
    # Same-day ties can only occur among patients with several rows: test those alone.
    several = ordered["patient_id"].duplicated(keep=False).to_numpy()
    tied = np.zeros(len(ordered), dtype=bool)
    if several.any():
        same_day = ordered[several].duplicated(["patient_id", "date"], keep=False).to_numpy()
        tied[np.flatnonzero(several)[same_day]] = True
    if tied.any():
        # Reorder a narrow key frame, then take the rows once: concatenating the wide frame
        # scans its all-blank object columns value by value.
        key = ordered[["patient_id", "date", "intervention_id"]]
        key = key.assign(_pos=np.arange(len(ordered)))
        fixed = key[tied].sort_values(["patient_id", "date", "intervention_id"])
        key = pd.concat([key[~tied], fixed]).sort_values("date", kind="mergesort")
        ordered = ordered.iloc[key["_pos"].to_numpy()]
    return ordered.drop_duplicates("patient_id", keep="first").reset_index(drop=True)


def operations(
    frames: RegistryFrames,
    *,
    window_from: DateLike = None,
    window_to: DateLike = None,
    types: Sequence[str] = SURGERY_TYPES,
) -> pd.DataFrame:
    """Interventions of the given types dated in the window, with their effective intent."""
    iv = frames.interventions
    mask = iv["type"].isin(types) & window_mask(iv["date"], window_from, window_to)
    out = iv[mask].copy()
    out["intent_effective"] = effective_intent(out)
    source = pd.Series(None, index=out.index, dtype=object)
    source = source.mask(out["intent_derived"].notna(), "derived")
    out["intent_source"] = source.mask(out["intent"].notna(), "explicit")
    out["parent_effective"] = effective_parent(out)
    return out.reset_index(drop=True)


def _pathology_per_intervention(pathology: pd.DataFrame) -> pd.DataFrame:
    """One pathology row per intervention: worst pT, positive margin if any, highest ISUP."""
    cols = ["pt", "pt_group", "margin", "isup_grade", "pathology_histology", "pathology_size_mm"]
    if pathology.empty:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="intervention_id"))
    p = pathology.copy()
    p["pt_norm"] = _map_unique(p["pt"], normalise_t)
    ranks = {t: _t_rank(t) for t in p["pt_norm"].dropna().unique()}
    p["t_rank"] = p["pt_norm"].map(ranks).fillna(-1).astype(int)  # blank → -1, as _t_rank
    margin_rank = {"positive": 2, "negative": 1, "not_applicable": 0}
    p["m_rank"] = p["margin"].map(margin_rank).fillna(-1)
    key = "intervention_id"
    if p[key].is_unique:  # one report per operation (the registry's key): nothing to rank
        worst_t = worst_m = p.set_index(key)
    else:
        worst_t = p.sort_values("t_rank").groupby(key, sort=False).tail(1).set_index(key)
        worst_m = p.sort_values("m_rank").groupby(key, sort=False).tail(1).set_index(key)
    g = p.groupby("intervention_id", sort=False)
    out = pd.DataFrame(index=worst_t.index)
    out["pt"] = worst_t["pt_norm"]
    out["pt_group"] = _map_unique(out["pt"], t_group)
    out["margin"] = worst_m["margin"].reindex(out.index)
    out["isup_grade"] = g["isup_grade"].max()
    out["pathology_histology"] = g["histology"].first()
    out["pathology_size_mm"] = g["size_mm"].max()
    return out[cols]


def _complications_per_intervention(complications: pd.DataFrame) -> pd.DataFrame:
    """Highest Clavien-Dindo grade per episode (Dindo 2004 registry rule [P])."""
    cols = ["clavien_max", "clavien_major", "complications_n"]
    if complications.empty:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="intervention_id"))
    grades = complications["clavien_dindo"]
    ranks: dict[str, int] = {}
    for text in grades.dropna().unique():
        try:
            ranks[text] = grade_rank(text)
        except ClinicalInputError as err:
            raise ClinicalInputError(
                [
                    Problem("complications.clavien_dindo", p.value, p.allowed, p.hint)
                    for p in err.problems
                ]
            ) from err
    c = complications.assign(rank=grades.map(ranks))
    g = c.groupby("intervention_id", sort=False)
    top = g["rank"].max()
    out = pd.DataFrame(index=top.index)
    # Per distinct value, not per row (a million-patient registry has ~10^5 complications).
    out["clavien_max"] = top.map({r: GRADES[int(r) - 1] for r in top.unique()})
    out["clavien_major"] = out["clavien_max"].map({g: is_major(g) for g in GRADES})
    out["complications_n"] = g.size()
    return out[cols]


def index_table(frames: RegistryFrames, ops: pd.DataFrame) -> pd.DataFrame:
    """One analysis row per intervention, joined with everything an outcome table needs."""
    if "intent_effective" not in ops.columns:
        ops = ops.assign(
            intent_effective=effective_intent(ops), parent_effective=effective_parent(ops)
        )
    pid = ops["patient_id"]
    few = subset_ids(frames, pid) is not None
    keep_p = pid if few else None
    pats = _only(frames.patients, "patient_id", keep_p).set_index("patient_id")
    tum = _only(frames.tumours, "tumour_id", ops["tumour_id"] if few else None)
    tum = tum.set_index("tumour_id")
    out = ops.copy()
    patient = _lookup(pid, pats)
    out["sex"] = patient("sex")
    out["black_race"] = patient("black_race")
    out["solitary_kidney"] = patient("solitary_kidney")
    out["age_years"] = (out["date"] - patient("birth_date")).dt.days / DAYS_PER_YEAR
    tid = out["tumour_id"]
    tumour = _lookup(tid, tum)
    out["side"] = out["side"].where(out["side"].notna(), tumour("side"))
    out["ct"] = _map_unique(tumour("ct"), normalise_t)
    out["cn"] = tumour("cn")
    out["cm"] = tumour("cm")
    out["tumour_histology"] = tumour("histology")
    ids = out["intervention_id"] if few else None
    path = _pathology_per_intervention(_only(frames.pathology, "intervention_id", ids))
    comp = _complications_per_intervention(_only(frames.complications, "intervention_id", ids))
    out = out.join(path, on="intervention_id").join(comp, on="intervention_id")
    out["complications_n"] = pd.to_numeric(out["complications_n"]).fillna(0).astype(int)
    out["histology"] = out["pathology_histology"].where(
        out["pathology_histology"].notna(), out["tumour_histology"]
    )
    out["death_date"] = pid.map(death_dates(frames, keep_p))
    out["death_cause"] = patient("death_cause")
    out["followup_end"] = pid.map(followup_end(frames, keep_p))
    out["followup_days"] = (out["followup_end"] - out["date"]).dt.days
    return out


@dataclass(frozen=True)
class CohortSpec:
    """A declared cohort definition (ATLAS-style), JSON-serialisable for the methods text."""

    name: str = "cohort"
    window_from: DateLike = None
    window_to: DateLike = None
    types: tuple[str, ...] = SURGERY_TYPES
    intents: tuple[str, ...] | None = None
    ct: tuple[str, ...] | None = None  # "T1" matches T1, T1a and T1b
    histology: tuple[str, ...] | None = None
    first_per_patient: bool = True

    def to_json_dict(self) -> dict[str, Any]:
        def d(v: DateLike) -> str | None:
            ts = to_timestamp(v, "date")
            return None if ts is None else ts.date().isoformat()

        return {
            "name": self.name,
            "window_from": d(self.window_from),
            "window_to": d(self.window_to),
            "types": list(self.types),
            "intents": None if self.intents is None else list(self.intents),
            "ct": None if self.ct is None else list(self.ct),
            "histology": None if self.histology is None else list(self.histology),
            "first_per_patient": self.first_per_patient,
        }


@dataclass(frozen=True)
class AttritionStep:
    step: str
    n_interventions: int
    n_patients: int


@dataclass(frozen=True)
class Cohort:
    spec: CohortSpec
    rows: pd.DataFrame
    attrition: tuple[AttritionStep, ...] = field(default_factory=tuple)

    @property
    def n(self) -> int:
        return int(self.rows["patient_id"].nunique())

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec.to_json_dict(),
            "n_patients": self.n,
            "n_interventions": len(self.rows),
            "attrition": [s.__dict__ for s in self.attrition],
        }


def _ct_matches(ct: pd.Series, wanted: Sequence[str]) -> pd.Series:
    norm = [normalise_t(w) for w in wanted]
    keys = [w for w in norm if w]
    return ct.map(lambda v: v is not None and any(v.startswith(k) for k in keys)).astype(bool)


def build_cohort(frames: RegistryFrames, spec: CohortSpec) -> Cohort:
    """Apply the spec step by step, recording how many rows each restriction keeps."""
    steps: list[AttritionStep] = []

    def record(label: str, df: pd.DataFrame) -> None:
        steps.append(AttritionStep(label, len(df), int(df["patient_id"].nunique())))

    ops = operations(
        frames, window_from=spec.window_from, window_to=spec.window_to, types=spec.types
    )
    record(f"type in {list(spec.types)}, dated in window", ops)
    rows = index_table(frames, ops)
    if spec.intents is not None:
        rows = rows[rows["intent_effective"].isin(spec.intents)]
        record(f"intent in {list(spec.intents)}", rows)
    if spec.ct is not None:
        rows = rows[_ct_matches(rows["ct"], spec.ct)]
        record(f"cT in {list(spec.ct)}", rows)
    if spec.histology is not None:
        rows = rows[rows["histology"].isin(spec.histology)]
        record(f"histology in {list(spec.histology)}", rows)
    if spec.first_per_patient:
        rows = first_per_patient(rows)
        record("first per patient", rows)
    return Cohort(spec, rows.reset_index(drop=True), tuple(steps))
