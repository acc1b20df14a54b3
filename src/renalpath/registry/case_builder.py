"""A tumour-board case built from what the registry already knows about one patient.

The case gets the facts a registry holds — demographics, the most recent tumour with its
clinical N/M, its latest imaging (size, nephrometry inputs), the latest creatinine (or
reported eGFR), the latest treatment, a residual or recurrent disease recorded after it,
and the final pathology of that operation — and, beside each fact, where it came from and
its date (`provenance`), so the board sees how old every input is.  Nothing is inferred
that the registry does not state: a treatment without a recorded failure leaves the failure
question open for the clinician, an unsubdivided or unknown cN/cM is left blank.

Only the rows of that patient are read (indexed by patient_id / tumour_id).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from renalpath.clinical.durations import completed_years
from renalpath.registry.models import Event, Imaging, Intervention, Lab, Pathology, Patient, Tumour
from renalpath.registry.vocab import pathway_histology

FAILURE_KINDS = {"residual_disease": "residual", "local_recurrence": "recurrence"}
SURGERY = ("partial_nephrectomy", "radical_nephrectomy")
PT_CODES = ("T1a", "T1b", "T2a", "T2b", "T3a", "T3b", "T3c", "T4")


@dataclass
class BuiltCase:
    """The case (nested, as the case form and `recommend` take it) and its provenance.

    `provenance` maps a case field path to {"source": words, "date": ISO date or None,
    "value": the value taken};
    `notes` are registry facts the case shape cannot hold (e.g. a distant metastasis whose
    organ is not recorded) — shown to the clinician, never dropped silently.
    """

    patient_id: str
    case: dict[str, Any]
    provenance: dict[str, dict[str, str | None]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _put(built: BuiltCase, path: str, value: Any, source: str, date: dt.date | None) -> None:
    if value is None:
        return
    node = built.case
    *parents, last = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    built.provenance[path] = {
        "source": source,
        "date": date.isoformat() if date else None,
        "value": value,  # as the registry gave it: a later edit shows as "changed"
    }


def build_case(engine: Engine, patient_id: str, today: dt.date | None = None) -> BuiltCase | None:
    """The case for `patient_id` as of `today` (None when the patient does not exist)."""
    today = today or dt.date.today()
    with engine.connect() as conn:
        pat = (
            conn.execute(select(Patient.__table__).where(Patient.patient_id == patient_id))
            .mappings()
            .first()
        )
        if pat is None:
            return None
        tumour = (
            conn.execute(
                select(Tumour.__table__)
                .where(Tumour.patient_id == patient_id)
                .order_by(Tumour.diagnosis_date.desc(), Tumour.tumour_id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        imaging = None
        if tumour is not None:
            imaging = (
                conn.execute(
                    select(Imaging.__table__)
                    .where(Imaging.tumour_id == tumour["tumour_id"], Imaging.date <= today)
                    .order_by(Imaging.date.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
        labs = {
            test: conn.execute(
                select(Lab.__table__)
                .where(Lab.patient_id == patient_id, Lab.test == test, Lab.date <= today)
                .order_by(Lab.date.desc())
                .limit(1)
            )
            .mappings()
            .first()
            for test in ("creatinine", "egfr")
        }
        iv_cols = [*Intervention.__table__.c]
        path_cols = [c.label(f"path_{c.name}") for c in Pathology.__table__.c]
        last_iv = (
            conn.execute(
                select(*iv_cols, *path_cols)
                .outerjoin(Pathology, Pathology.intervention_id == Intervention.intervention_id)
                .where(
                    Intervention.patient_id == patient_id,
                    Intervention.date <= today,
                    Intervention.type != "active_surveillance",
                )
                .order_by(Intervention.date.desc(), Intervention.intervention_id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        events = (
            conn.execute(
                select(Event.__table__)
                .where(Event.patient_id == patient_id, Event.date <= today)
                .order_by(Event.date)
            )
            .mappings()
            .all()
        )

    built = BuiltCase(patient_id, {"as_of": today.isoformat()})
    built.provenance["as_of"] = {"source": "today (the date the case was built)", "date": None}
    _patient(built, pat, today)
    if tumour is not None:
        _tumour(built, tumour, imaging)
    else:
        built.notes.append("No tumour is recorded for this patient: enter the tumour by hand.")
    _kidney_function(built, labs.get("creatinine"), labs.get("egfr"))
    if last_iv is not None:
        _treatment(built, last_iv, events)
    for ev in events:
        if ev["type"] == "distant_metastasis":
            built.notes.append(
                f"Distant metastasis recorded on {ev['date'].isoformat()}"
                + (f" ({ev['detail']})" if ev["detail"] else "")
                + ": the registry does not hold its organ; list it under Metastases."
            )
    return built


def _patient(built: BuiltCase, pat: Any, today: dt.date) -> None:
    src = "patient record"
    born = pat["birth_date"]
    age = completed_years(born, today)
    _put(built, "patient.age", age, f"{src}: born {born.isoformat()}", None)
    _put(built, "patient.sex", pat["sex"], src, None)
    _put(built, "kidney.solitary_kidney", pat["solitary_kidney"], src, None)
    _put(built, "kidney.hereditary_syndrome", pat["hereditary_syndrome"], src, None)


def _tumour(built: BuiltCase, tumour: Any, imaging: Any) -> None:
    src = f"tumour {tumour['tumour_id']}"
    dx = tumour["diagnosis_date"]
    _put(built, "tumour.side", tumour["side"], src, dx)
    _histology(built, "tumour.histology", tumour["histology"], src, dx)
    if tumour["tnm_prefix"]:
        written = _prefixed((tumour["ct"], tumour["cn"], tumour["cm"]), tumour["tnm_prefix"], "c")
        built.notes.append(
            f"Recorded TNM of {src} is {written} — "
            f"{_PREFIX_WORDS.get(tumour['tnm_prefix'], 'prefixed')}, not the staging at "
            "diagnosis the pathway's cN/cM mean: they are left blank for you to state."
        )
    elif tumour["cn"] in ("N0", "N1", "NX"):
        _put(built, "tumour.cn", tumour["cn"], src, dx)
    if not tumour["tnm_prefix"] and tumour["cm"] in ("M0", "M1"):
        _put(built, "tumour.cm", tumour["cm"], src, dx)
        if tumour["cm"] == "M1":
            built.notes.append("cM1 is recorded: list the metastases (organ, number, symptoms).")
    if tumour["ct"] and not tumour["tnm_prefix"]:
        built.notes.append(
            f"Recorded clinical T: {tumour['ct']} (the case recomputes cT from size and extension)."
        )
    if imaging is None:
        return
    img_src = f"imaging{' (' + imaging['modality'].upper() + ')' if imaging['modality'] else ''}"
    when = imaging["date"]
    _put(built, "tumour.size_mm", max(1, round(imaging["size_mm"])), img_src, when)
    for col, path in (
        ("renal_exophytic_pct", "tumour.renal.exophytic_pct"),
        ("renal_nearness_mm", "tumour.renal.nearness_mm"),
        ("renal_ap", "tumour.renal.ap"),
        ("renal_polar", "tumour.renal.polar"),
        ("renal_hilar", "tumour.renal.hilar"),
        ("padua_exophytic_pct", "tumour.padua.exophytic_pct"),
        ("padua_polar", "tumour.padua.polar"),
        ("padua_rim", "tumour.padua.rim"),
        ("padua_sinus", "tumour.padua.sinus"),
        ("padua_ucs", "tumour.padua.ucs"),
        ("padua_face", "tumour.padua.face"),
    ):
        _put(built, path, imaging[col], img_src, when)


# What a meaningful TNM prefix says (AJCC Cancer Staging Manual, 8th ed., 2017, ch. 1).
_PREFIX_WORDS = {
    "y": "staged during or after initial multimodality (e.g. neoadjuvant) therapy",
    "r": "staged at recurrence after a disease-free interval",
    "a": "staged at autopsy",
    "yr": "staged at recurrence, after multimodality therapy",
}


def _prefixed(categories: tuple[str | None, ...], tnm_prefix: str, kind: str) -> str:
    """Categories as written with their prefix ("ypT2 ypN0"; autopsy: "aT2")."""
    written = tnm_prefix if "a" in tnm_prefix else tnm_prefix + kind
    return " ".join(written + c for c in categories if c) or f"{written} (no category)"


def _histology(built: BuiltCase, path: str, value: Any, source: str, date: dt.date) -> None:
    """The pathway reads the WHO 2022 subtypes it has no rules of its own for as "other"
    (`registry/codes/histology.csv`, column pathway_group); the clinician is told."""
    group = pathway_histology(value)
    _put(built, path, group, source, date)
    if group != value:
        built.notes.append(
            f"Histology {value.replace('_', ' ')} ({source}) is read as {group} by the pathway."
        )


def _kidney_function(built: BuiltCase, creat: Any, egfr: Any) -> None:
    if creat is not None:
        _put(built, "kidney.creatinine.value", creat["value"], "lab: creatinine", creat["date"])
        unit = "µmol/L" if "mol" in str(creat["unit"]).lower() else "mg/dL"
        _put(built, "kidney.creatinine.unit", unit, "lab: creatinine", creat["date"])
    elif egfr is not None:
        eq = f" ({egfr['equation']})" if egfr["equation"] else ""
        _put(built, "kidney.egfr", egfr["value"], f"lab: reported eGFR{eq}", egfr["date"])


def _treatment(built: BuiltCase, iv: Any, events: Any) -> None:
    src = f"intervention {iv['intervention_id']}"
    when = iv["date"]
    _put(built, "prior_treatment.type", iv["type"], src, when)
    _put(built, "prior_treatment.date", when.isoformat(), src, when)
    failures = [
        ev
        for ev in events
        if ev["type"] in FAILURE_KINDS
        and ev["date"] >= when
        and (iv["tumour_id"] is None or ev["tumour_id"] in (None, iv["tumour_id"]))
    ]
    if failures:
        ev = failures[0]
        ev_src = f"event: {ev['type'].replace('_', ' ')}"
        _put(built, "prior_treatment.failure", FAILURE_KINDS[ev["type"]], ev_src, ev["date"])
        _put(built, "prior_treatment.failure_date", ev["date"].isoformat(), ev_src, ev["date"])
    elif iv["type"] in SURGERY and iv["path_intervention_id"] is not None:
        _pathology(built, iv)
    else:
        built.notes.append(
            f"No residual or recurrent disease is recorded after the {iv['type'].replace('_', ' ')}"
            f" of {when.isoformat()}: state the failure status if it is known."
        )


def _pathology(built: BuiltCase, iv: Any) -> None:
    src = f"pathology of {iv['intervention_id']}"
    when = iv["date"]
    _put(built, "pathology.treatment", iv["type"], src, when)
    _put(built, "pathology.date", when.isoformat(), src, when)
    _histology(built, "pathology.histology", iv["path_histology"], src, when)
    if iv["path_tnm_prefix"]:
        # ypT/rpT/aT are not the primary pT the pathway's rules (adjuvant eligibility,
        # Leibovich, SSIGN) were derived on: never passed on as if they were.
        categories = (iv["path_pt"], iv["path_pn"], iv["path_pm"])
        written = _prefixed(categories, iv["path_tnm_prefix"], "p")
        built.notes.append(
            f"Pathology of {iv['intervention_id']} is staged {written} — "
            f"{_PREFIX_WORDS.get(iv['path_tnm_prefix'], 'prefixed')}; the pathway's pT/pN/pM "
            "mean the primary pathological staging, so they are left blank for you to state."
        )
    else:
        pt = iv["path_pt"]
        if pt in PT_CODES:
            _put(built, "pathology.pt", "p" + pt, src, when)
        pn = iv["path_pn"]
        if pn in ("NX", "N0", "N1"):
            _put(built, "pathology.pn", "p" + pn, src, when)
        if iv["path_pm"] in ("M0", "M1"):
            _put(built, "pathology.pm", iv["path_pm"], src, when)
    if iv["path_size_mm"] is not None:
        _put(built, "pathology.size_mm", max(1, round(iv["path_size_mm"])), src, when)
    _put(built, "pathology.isup_grade", iv["path_isup_grade"], src, when)
    _put(built, "pathology.margin", iv["path_margin"], src, when)
    _put(built, "pathology.necrosis", iv["path_necrosis"], src, when)
    _put(built, "pathology.sarcomatoid", iv["path_sarcomatoid"], src, when)
