"""Concordance audit: was each tumour's first treatment what the pathway recommends?

For every first treatment the case is rebuilt *as it stood on the treatment date* from the
registry, run through the pathway (all packs merged, batch), and the treatment given is
classified by the status the pathway gave the matching option.

Which treatments (choices where the brief is silent, [P] project choices):
* first treatment = the earliest intervention of each tumour (ties: intervention id); rows
  without a tumour id are grouped by patient and side (the salvage-lineage fallback);
* explicit intent `primary`, blank, `cytoreductive` or `palliative` is audited — a
  cytoreductive nephrectomy or palliative systemic therapy is the first decision for a
  metastatic tumour; an explicit `salvage` intent on a first record means earlier treatment
  is missing from the registry, so it is left out and counted.

Decision-time case — only what the registry records, never a guess; anything absent stays
absent so the engine reports it in `missing_inputs`:
* `patient.age` completed years on the date; `patient.sex`;
* `kidney.solitary_kidney`, `kidney.hereditary_syndrome` as recorded (the registry keeps one
  current value per patient, not its history — stated in the notes);
* `kidney.bilateral_tumours`: true when another tumour of the patient on the other side was
  diagnosed on or before the date, false otherwise (the registry lists every tumour);
* `kidney.creatinine`: the latest creatinine within 90 days on or before the date (the salvage
  study's pre-operative window,); else a lab-reported eGFR in the same window;
* `tumour.size_mm` and the RENAL / PADUA components from the latest imaging of the tumour on
  or before the date (size rounded to whole mm, the case model's unit);
* `tumour.cn` / `tumour.cm` from the registry (cN, cM); `tumour.extension` only where cT
  implies it (AJCC 8th): cT1–cT2 are confined to the kidney (no extension),
  cT3b = vena cava below the diaphragm, cT3c = above it. cT3a and cT4 name several structures,
  so their extension is left absent (the engine then asks for `tumour.extension`);
* `metastases`: one entry per `distant_metastasis` event on or before the date; cM0 with none
  → `[]` (none); cM1 with none recorded → one synchronous entry (cM1 at diagnosis *is* a
  synchronous metastasis); blank cM with none → absent;
* `systemic.*` flags from laboratory values within 90 days with their own reference limits:
  haemoglobin < LLN, neutrophils > ULN, platelets > ULN, LDH > 1.5 × ULN (IMDC/MSKCC factors,
  IMDC, Heng 2009 / MSKCC, Motzer 2002); corrected calcium is left absent (needs albumin pairing);
* histology is left absent: the registry does not separate biopsy histology (known at the
  decision) from surgical pathology (known only after it);
* fitness, frailty, ECOG/KPS, surgeon feasibility and tumour centrality are not registry
  fields; an auditor may state them for all cases with `assume` (reported in the output).

Treatment → pathway option (option codes; the best status among the listed options counts):
partial_nephrectomy → partial_nephrectomy; radical_nephrectomy → radical_nephrectomy or
radical_nephrectomy_with_thrombectomy, and cytoreductive_nephrectomy when metastatic;
cryoablation / radiofrequency_ablation / microwave_ablation → thermal_ablation with modality
cryo / rfa / mwa (or any); active_surveillance → active_surveillance; systemic_therapy →
systemic_therapy; radiotherapy → stereotactic_radiotherapy or palliative_radiotherapy;
metastasectomy → metastasectomy; embolisation → arterial_embolisation or
preoperative_embolisation; other → none (not evaluable).

Classes: `recommended`, `alternative`, `discuss`, `not_recommended` (the option's merged
status), `not_evaluable` (the option is blocked for missing inputs — listed — or was not
considered at all for the case, or the rebuilt case was refused). Rates are given over all
audited treatments, by year and by registry cT; the partial-nephrectomy rate in cT1a is
PN / (PN + RN) among cT1a tumours whose first treatment was a nephrectomy (a quality indicator
of nephron-sparing surgery for small renal masses, EAU RCC guideline).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from renalpath.clinical.durations import completed_years
from renalpath.errors import InvalidInput
from renalpath.outcomes.cohorts import (
    DateLike,
    effective_intent,
    normalise_t,
    window_mask,
)
from renalpath.outcomes.jsonsafe import json_safe
from renalpath.pathway import CaseValidationError, RecommendResult, recommend_many
from renalpath.registry.frames import RegistryFrames

CATEGORIES: tuple[str, ...] = (
    "recommended",
    "alternative",
    "discuss",
    "not_recommended",
    "not_evaluable",
)
AUDITED_INTENTS = (None, "primary", "cytoreductive", "palliative")
LAB_WINDOW_DAYS = 90  #: pre-operative creatinine window

TYPE_OPTIONS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "partial_nephrectomy": (("partial_nephrectomy", None),),
    "radical_nephrectomy": (
        ("radical_nephrectomy", None),
        ("radical_nephrectomy_with_thrombectomy", None),
    ),
    "cryoablation": (("thermal_ablation", "cryo"), ("thermal_ablation", "any")),
    "radiofrequency_ablation": (("thermal_ablation", "rfa"), ("thermal_ablation", "any")),
    "microwave_ablation": (("thermal_ablation", "mwa"), ("thermal_ablation", "any")),
    "active_surveillance": (("active_surveillance", None),),
    "systemic_therapy": (("systemic_therapy", None),),
    "radiotherapy": (("stereotactic_radiotherapy", None), ("palliative_radiotherapy", None)),
    "metastasectomy": (("metastasectomy", None),),
    "embolisation": (("arterial_embolisation", None), ("preoperative_embolisation", None)),
    "other": (),
}
_METASTATIC_RN = (("cytoreductive_nephrectomy", None),)
_RANK = {s: i for i, s in enumerate(CATEGORIES[:4])}
# AJCC 8th: what a recorded cT says about extension, where unambiguous.
_EXTENSION_BY_CT: dict[str, dict[str, bool]] = {
    "T1": {},
    "T1a": {},
    "T1b": {},
    "T2": {},
    "T2a": {},
    "T2b": {},
    "T3b": {"ivc_below_diaphragm": True},
    "T3c": {"ivc_above_diaphragm": True},
}
_CN = {"N0": "N0", "N1": "N1", "NX": "NX"}
_CM = {"M0": "M0", "M1": "M1"}


@dataclass(frozen=True)
class Verdict:
    category: str
    option: str | None
    modality: str | None
    missing: tuple[str, ...] = ()
    reason: str | None = None


@dataclass(frozen=True)
class ConcordanceAudit:
    rows: pd.DataFrame = field(repr=False)
    assumptions: Mapping[str, Any]
    excluded: Mapping[str, int]
    notes: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        rows = self.rows
        out: dict[str, Any] = {
            "n_treatments": len(rows),
            "overall": _rates(rows),
            "by_year": {str(y): _rates(g) for y, g in rows.groupby("year", sort=True)},
            "by_ct": {str(c): _rates(g) for c, g in rows.groupby("ct_group", sort=True)},
            "by_type": {str(t): _rates(g) for t, g in rows.groupby("type", sort=True)},
            "missing_inputs": dict(Counter(m for ms in rows["missing"] for m in ms).most_common()),
            "pn_rate_ct1a": _pn_rate(rows),
            "pn_rate_ct1a_by_year": {
                str(y): _pn_rate(g) for y, g in rows.groupby("year", sort=True)
            },
        }
        return out

    def to_json_dict(self) -> dict[str, Any]:
        keys = (
            "intervention_id",
            "patient_id",
            "tumour_id",
            "type",
            "ct",
            "derived_ct",
            "category",
            "option",
            "modality",
            "reason",
        )
        records: list[dict[Any, Any]] = self.rows.to_dict("records")
        treatments = [
            {
                **{k: r[k] for k in keys},
                "date": r["date"].date().isoformat(),
                "missing": list(r["missing"]),
            }
            for r in records
        ]
        out: dict[str, Any] = json_safe(
            {
                **self.summary(),
                "definitions": {
                    "first_treatment": "earliest intervention per tumour (else patient+side)",
                    "audited_intents": "primary, blank, cytoreductive, palliative",
                    "categories": list(CATEGORIES),
                    "pn_rate_ct1a": "PN / (PN + RN) among cT1a tumours first treated by "
                    "nephrectomy",
                    "lab_window_days": LAB_WINDOW_DAYS,
                },
                "assumptions": dict(self.assumptions),
                "excluded": dict(self.excluded),
                "treatments": treatments,
                "notes": list(self.notes),
            }
        )
        return out


def _rates(rows: pd.DataFrame) -> dict[str, Any]:
    n = len(rows)
    counts = {c: int((rows["category"] == c).sum()) for c in CATEGORIES}
    evaluable = n - counts["not_evaluable"]
    concordant = counts["recommended"] + counts["alternative"]
    return {
        "n": n,
        "counts": counts,
        "pct": {c: (100.0 * k / n if n else None) for c, k in counts.items()},
        "evaluable_n": evaluable,
        # recommended or alternative, among treatments the pathway could judge
        "concordant_pct_of_evaluable": 100.0 * concordant / evaluable if evaluable else None,
    }


def _pn_rate(rows: pd.DataFrame) -> dict[str, Any]:
    ct1a = rows[rows["ct"] == "T1a"]
    pn = int((ct1a["type"] == "partial_nephrectomy").sum())
    rn = int((ct1a["type"] == "radical_nephrectomy").sum())
    return {"pn_n": pn, "rn_n": rn, "rate_pct": 100.0 * pn / (pn + rn) if pn + rn else None}


# ----------------------------------------------------------------------------- selection


def first_treatments(
    frames: RegistryFrames, window_from: DateLike = None, window_to: DateLike = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The first intervention of each tumour, audited intents only; with exclusion counts."""
    iv = frames.interventions.copy()
    tum = frames.tumours.set_index("tumour_id")
    iv["side_eff"] = iv["side"].where(iv["side"].notna(), iv["tumour_id"].map(tum["side"]))
    fallback = iv["patient_id"] + "|" + iv["side_eff"].fillna("?")
    iv["key"] = iv["tumour_id"].where(iv["tumour_id"].notna(), fallback)
    iv = iv.sort_values(["date", "intervention_id"], kind="mergesort")
    first = iv.drop_duplicates("key", keep="first")
    first = first[window_mask(first["date"], window_from, window_to)]
    intent = effective_intent(first)
    explicit = first["intent"]
    keep = explicit.isna() | explicit.isin([i for i in AUDITED_INTENTS if i])
    excluded = {"explicit_salvage_or_other_intent": int((~keep).sum())}
    first = first[keep].assign(intent_effective=intent[keep])
    return first.reset_index(drop=True), excluded


# ------------------------------------------------------------------------ decision cases


def _asof(
    left: pd.DataFrame, right: pd.DataFrame, by: str, tolerance_days: int | None
) -> pd.DataFrame:
    """Latest right row with date on or before each left row's date (same `by` key)."""
    lhs = left[["row", by, "date"]].dropna(subset=[by]).sort_values("date", kind="mergesort")
    rhs = right.dropna(subset=[by]).sort_values("date", kind="mergesort")
    rhs = rhs.rename(columns={"date": "src_date"}).assign(date=lambda f: f["src_date"])
    tol = None if tolerance_days is None else pd.Timedelta(days=tolerance_days)
    merged = pd.merge_asof(lhs, rhs, on="date", by=by, direction="backward", tolerance=tol)
    return merged.set_index("row")


def _present(value: Any) -> bool:
    return (
        value is not None
        and not (isinstance(value, float) and pd.isna(value))
        and (value is not pd.NA and value is not pd.NaT)
    )


def parse_assumption(text: str) -> tuple[str, Any]:
    """`FIELD=VALUE` as an auditor states it (`--assume`, the web form): true/false become
    booleans, the rest stays text; InvalidInput for anything without a field and `=`."""
    path, sep, raw = text.partition("=")
    if not sep or not path.strip():
        raise InvalidInput(f"{text!r}: use FIELD=VALUE, e.g. patient.fit_for_surgery=true")
    low = raw.strip().lower()
    value: Any = {"true": True, "false": False}.get(low, raw.strip())
    return path.strip(), value


def _set(case: dict[str, Any], path: str, value: Any) -> None:
    node = case
    parts = path.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node.setdefault(parts[-1], value)  # registry values win over assumptions


def _lab_flags(labs: pd.DataFrame, ops: pd.DataFrame) -> dict[int, dict[str, bool]]:
    """IMDC/MSKCC laboratory factors from the latest value within the window, own limits."""
    out: dict[int, dict[str, bool]] = {}
    rules: tuple[tuple[str, str, Callable[[float, float], bool], str], ...] = (
        ("hemoglobin", "lln", lambda v, lim: v < lim, "hb_below_lln"),
        ("neutrophils", "uln", lambda v, lim: v > lim, "neutrophils_above_uln"),
        ("platelets", "uln", lambda v, lim: v > lim, "platelets_above_uln"),
        # MSKCC: LDH > 1.5 × upper limit of normal
        ("ldh", "uln", lambda v, lim: v > 1.5 * lim, "ldh_above_1_5_uln"),
    )
    for test, limit, fn, name in rules:
        sub = labs[(labs["test"] == test) & labs[limit].notna()][
            ["patient_id", "date", "value", limit]
        ]
        if sub.empty:
            continue
        got = _asof(ops, sub, "patient_id", LAB_WINDOW_DAYS)
        got = got[got["value"].notna()]
        pairs = zip(got.index.tolist(), got["value"].tolist(), got[limit].tolist(), strict=True)
        for row, v, lim in pairs:
            out.setdefault(int(row), {})[name] = bool(fn(float(v), float(lim)))
    return out


def decision_cases(
    frames: RegistryFrames, treatments: pd.DataFrame, assume: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """One case dict per treatment, as the registry knew it on the treatment date."""
    ops = treatments.reset_index(drop=True).assign(row=lambda f: range(len(f)))
    pats = frames.patients.set_index("patient_id")
    tum = frames.tumours.set_index("tumour_id")
    img = _asof(ops, frames.imaging, "tumour_id", None)
    labs = frames.labs
    creat = _asof(ops, labs[labs["test"] == "creatinine"], "patient_id", LAB_WINDOW_DAYS)
    egfr = _asof(ops, labs[labs["test"] == "egfr"], "patient_id", LAB_WINDOW_DAYS)
    flags = _lab_flags(labs, ops)
    mets = frames.events[frames.events["type"] == "distant_metastasis"]
    mets_by_patient = {p: g["date"].tolist() for p, g in mets.groupby("patient_id")}
    tumours_by_patient = {
        p: list(zip(g["side"], g["diagnosis_date"], g["tumour_id"], strict=True))
        for p, g in frames.tumours.groupby("patient_id")
    }
    pats_d: dict[Any, dict[Any, Any]] = pats.to_dict("index")
    tum_d: dict[Any, dict[Any, Any]] = tum.to_dict("index")
    creat_d: dict[Any, dict[Any, Any]] = creat.to_dict("index")
    egfr_d: dict[Any, dict[Any, Any]] = egfr.to_dict("index")
    img_d: dict[Any, dict[Any, Any]] = img.to_dict("index")
    records: list[dict[Any, Any]] = ops.to_dict("records")
    cases: list[dict[str, Any]] = []
    for r in records:
        row = int(r["row"])
        when: pd.Timestamp = r["date"]
        p = pats_d[r["patient_id"]]
        t = tum_d.get(r["tumour_id"]) if _present(r["tumour_id"]) else None
        case: dict[str, Any] = {"as_of": when.date().isoformat()}
        patient: dict[str, Any] = {"sex": p["sex"]}
        if _present(p["birth_date"]):
            patient["age"] = completed_years(p["birth_date"], when)
        case["patient"] = patient
        kidney: dict[str, Any] = {}
        for name in ("solitary_kidney", "hereditary_syndrome"):
            if _present(p[name]):
                kidney[name] = p[name]
        side = r["side_eff"] if _present(r["side_eff"]) else None
        if side is not None:
            others = [
                s
                for s, d, tid in tumours_by_patient.get(r["patient_id"], [])
                if tid != r["tumour_id"] and s != side and d <= when
            ]
            if not (others and kidney.get("solitary_kidney") == "anatomic"):
                kidney["bilateral_tumours"] = bool(others)
        lab = creat_d.get(row)
        reported = egfr_d.get(row)
        if lab is not None and _present(lab["value"]):
            kidney["creatinine"] = {"value": float(lab["value"]), "unit": str(lab["unit"])}
        elif reported is not None and _present(reported["value"]):
            kidney["egfr"] = float(reported["value"])
        case["kidney"] = kidney
        tumour: dict[str, Any] = {}
        if side is not None:
            tumour["side"] = side
        ct = normalise_t(t["ct"]) if t is not None else None
        cn = _CN.get(str(normalise_n(t["cn"]))) if t is not None else None
        cm = _CM.get(str(normalise_m(t["cm"]))) if t is not None else None
        if ct in _EXTENSION_BY_CT:
            tumour["extension"] = dict(_EXTENSION_BY_CT[ct])
        if cn:
            tumour["cn"] = cn
        if cm:
            tumour["cm"] = cm
        i = img_d.get(row)
        if i is not None and _present(i["size_mm"]):
            tumour["size_mm"] = int(float(i["size_mm"]) + 0.5)  # whole mm, half up
            renal = {
                k: i[f"renal_{k}"]
                for k in ("exophytic_pct", "nearness_mm", "ap", "polar", "hilar")
                if _present(i[f"renal_{k}"])
            }
            padua = {
                k: i[f"padua_{k}"]
                for k in ("exophytic_pct", "polar", "rim", "sinus", "ucs", "face")
                if _present(i[f"padua_{k}"])
            }
            if renal:
                tumour["renal"] = {k: _plain(v) for k, v in renal.items()}
            if padua:
                tumour["padua"] = {k: _plain(v) for k, v in padua.items()}
        case["tumour"] = tumour
        met_dates = [d for d in mets_by_patient.get(r["patient_id"], []) if d <= when]
        if met_dates:
            case["metastases"] = [{"date": d.date().isoformat()} for d in met_dates]
        elif cm == "M0":
            case["metastases"] = []
        elif cm == "M1":
            case["metastases"] = [{"synchronous": True}]
        if row in flags:
            case["systemic"] = dict(flags[row])
        for path, value in (assume or {}).items():
            _set(case, path, value)
        cases.append(case)
    return cases


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if hasattr(value, "item"):
        return value.item()
    return value


def normalise_n(value: object) -> str | None:
    """'cN0', 'N0', '0' → 'N0' (blank → None)."""
    return _tnm_letter(value, "N")


def normalise_m(value: object) -> str | None:
    """'cM1', 'M1', '1' → 'M1' (blank → None)."""
    return _tnm_letter(value, "M")


def _tnm_letter(value: object, letter: str) -> str | None:
    if not _present(value):
        return None
    text = str(value).strip().upper()
    if text[:1] in ("C", "P") and text[1:2] == letter:
        text = text[1:]
    if text.startswith(letter):
        text = text[1:]
    return f"{letter}{text}" if text else None


# ------------------------------------------------------------------------ classification


def classify(result: RecommendResult, treatment_type: str, metastatic: bool) -> Verdict:
    """The status the pathway gave the treatment actually chosen."""
    wanted = TYPE_OPTIONS.get(treatment_type)
    if wanted is None or not wanted:
        return Verdict("not_evaluable", None, None, (), f"no pathway option for {treatment_type}")
    if treatment_type == "radical_nephrectomy" and metastatic:
        wanted = _METASTATIC_RN + wanted
    records = [
        o
        for o in result.options
        if any(o.option == code and (mod is None or o.modality == mod) for code, mod in wanted)
    ]
    judged = [o for o in records if o.status in _RANK]
    if judged:
        best = min(judged, key=lambda o: _RANK[o.status])
        return Verdict(best.status, best.option, best.modality)
    if records:
        missing = tuple(dict.fromkeys(m for o in records for m in o.missing))
        return Verdict(
            "not_evaluable",
            records[0].option,
            records[0].modality,
            missing,
            "blocked: missing inputs",
        )
    return Verdict(
        "not_evaluable",
        wanted[0][0],
        wanted[0][1],
        tuple(result.missing_inputs),
        "option not considered by the pathway for this case",
    )


def concordance_audit(
    frames: RegistryFrames,
    *,
    window_from: DateLike = None,
    window_to: DateLike = None,
    packs: Sequence[str] | None = None,
    assume: Mapping[str, Any] | None = None,
    today: dt.date | None = None,
) -> ConcordanceAudit:
    """Rebuild, recommend and classify every first treatment (see module docstring)."""
    treatments, excluded = first_treatments(frames, window_from, window_to)
    cases = decision_cases(frames, treatments, assume)
    results = recommend_many(cases, packs, today=today)
    verdicts: list[Verdict] = []
    derived_ct: list[str | None] = []
    refused = 0
    types: list[str] = [str(t) for t in treatments["type"].tolist()]
    for kind, case, res in zip(types, cases, results, strict=True):
        if isinstance(res, CaseValidationError):
            refused += 1
            problems = tuple(p.field for p in res.problems)
            verdicts.append(Verdict("not_evaluable", None, None, problems, f"case refused: {res}"))
            derived_ct.append(None)
            continue
        metastatic = bool(case.get("metastases")) or res.derived.get("cm") == "M1"
        verdicts.append(classify(res, kind, metastatic))
        derived_ct.append(res.derived.get("ct"))
    rows = treatments[["intervention_id", "patient_id", "tumour_id", "date", "type"]].copy()
    tum = frames.tumours.set_index("tumour_id")
    rows["ct"] = rows["tumour_id"].map(tum["ct"]).map(normalise_t)
    rows["ct"] = rows["ct"].astype(object).where(rows["ct"].notna(), None)
    rows["ct_group"] = rows["ct"].fillna("unknown")
    rows["derived_ct"] = derived_ct
    rows["year"] = rows["date"].dt.year
    rows["category"] = [v.category for v in verdicts]
    rows["option"] = [v.option for v in verdicts]
    rows["modality"] = [v.modality for v in verdicts]
    rows["missing"] = [v.missing for v in verdicts]
    rows["reason"] = [v.reason for v in verdicts]
    notes = [
        "solitary_kidney and hereditary_syndrome are the registry's current values, not "
        "their state on the treatment date",
        "fitness, frailty, performance status, surgeon feasibility and tumour centrality are "
        "not registry fields: without --assume they are reported as missing inputs",
    ]
    if refused:
        notes.append(f"{refused} rebuilt case(s) were refused by the case validator")
    if excluded["explicit_salvage_or_other_intent"]:
        notes.append(
            f"{excluded['explicit_salvage_or_other_intent']} first record(s) with an explicit "
            "salvage intent left out (earlier treatment missing from the registry)"
        )
    return ConcordanceAudit(
        rows=rows, assumptions=dict(assume or {}), excluded=excluded, notes=tuple(notes)
    )
