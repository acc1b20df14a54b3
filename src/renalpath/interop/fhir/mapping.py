"""Registry rows → FHIR R4 resources conforming to mCODE STU4 (4.0.0), one patient at a time.

The input is a registry folder as `renalpath export` writes it (canonical cell text, see
`registry.cells`), so the identifiable export and the de-identified one (pseudonyms, shifted
dates, blank free text) take the same path. What each registry file becomes:

* patients → Patient (CancerPatient; no name is held, so the name carries a data-absent reason);
* tumours → Condition (PrimaryCancerCondition for malignant histologies: ICD-10-CM C64.x by
  side, ICD-O-3 morphology, kidney body site with laterality; benign histologies get D30.0x and
  no mCODE profile; "other"/"unknown"/blank get no invented code), a Tumor BodyStructure, and
  clinical T/N/M Observations plus the AJCC 8 stage group derived from them when defined;
* imaging → TumorSize Observations; pathology → pathological T/N/M, stage group, TumorSize;
* interventions → Procedure (CancerRelatedSurgicalProcedure for operations and ablations;
  salvage lineage as `partOf` the earlier Procedure, `reasonReference` the tumour Condition);
  complications ride on their Procedure;
* labs → laboratory Observations with LOINC and UCUM where a verified code exists;
* events → Observations; recurrence and metastasis as CancerDiseaseStatus "worsened";
* the coded records (staging, performance status, disease status, metastases, systemic and
  radiotherapy courses) → their mCODE profiles (`interop.fhir.coded`).

Registry columns FHIR has no element for (nephrometry inputs, ischaemia times, margins, ...) are
kept, with every other column of the row, in one `registry-row` extension per source row, so
FHIR → registry is lossless; the standard elements are what other systems read.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.staging import stage_group
from renalpath.interop.fhir import codes as c
from renalpath.registry.dictionary import FILES

Resource = dict[str, Any]
SURGICAL_TYPES = frozenset(
    {
        "partial_nephrectomy",
        "radical_nephrectomy",
        "cryoablation",
        "radiofrequency_ablation",
        "microwave_ablation",
        "metastasectomy",
        "embolisation",
    }
)
PROGRESSION_EVENTS = frozenset({"local_recurrence", "distant_metastasis"})
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # whole string: fullmatch, not `$`


class Encoded(NamedTuple):
    """A resource already written as its NDJSON text (`interop.fhir.ndjson`): the text the
    encoder writes for the resource dict, `meta.source` included."""

    kind: str  # resourceType
    id: str
    text: str


Built = Resource | Encoded


@dataclass(frozen=True)
class Builders:
    """The builders of the resources that are most numerous (laboratory and TNM category
    Observations, two thirds of an export): dicts by default, or their text straight away
    (`interop.fhir.ndjson.TEXT_BUILDERS`) when they are only going to be written."""

    lab: Callable[[Mapping[str, str], dict[str, str], str], Built]
    tnm: Callable[..., Built]


def resource_id(prefix: str, registry_id: str) -> str:
    """A valid FHIR id for a registry id: readable when it fits, else a hash of it."""
    plain = f"{prefix}-{registry_id}"
    if _FHIR_ID.fullmatch(plain):  # `$` would let a trailing newline through
        return plain
    return f"{prefix}-h{hashlib.sha256(registry_id.encode('utf-8')).hexdigest()[:40]}"


# Column names per file, computed once: `registry_row` runs for most exported resources.
_COLUMNS: dict[str, tuple[str, ...]] = {name: spec.column_names for name, spec in FILES.items()}


def registry_row(file: str, row: Mapping[str, str]) -> dict[str, Any]:
    """The `registry-row` extension: the file name and every non-blank column, as text."""
    subs: list[dict[str, Any]] = [{"url": "file", "valueCode": file}]
    cols = _COLUMNS[file]
    if tuple(row) == cols:  # the row has exactly the file's columns, in order (as read)
        subs += [{"url": col, "valueString": v} for col, v in row.items() if v != ""]
    else:
        get = row.get
        subs += [{"url": col, "valueString": v} for col in cols if (v := get(col, "")) != ""]
    return {"url": c.REGISTRY_ROW, "extension": subs}


def _ref(kind: str, rid: str) -> dict[str, str]:
    return {"reference": f"{kind}/{rid}"}


def _identifier(kind: str, value: str) -> dict[str, str]:
    return {"use": "usual", "system": c.id_system(kind), "value": value}


def _enum(name: str, value: str) -> dict[str, Any]:
    return {"coding": [{"system": c.enum_system(name), "code": value}], "text": value}


@dataclass
class PatientRows:
    """All rows of one patient, each file's rows in export order."""

    patient: dict[str, str]
    tumours: list[dict[str, str]] = field(default_factory=list)
    imaging: list[dict[str, str]] = field(default_factory=list)
    interventions: list[dict[str, str]] = field(default_factory=list)
    pathology: list[dict[str, str]] = field(default_factory=list)
    complications: list[dict[str, str]] = field(default_factory=list)
    labs: list[dict[str, str]] = field(default_factory=list)
    events: list[dict[str, str]] = field(default_factory=list)
    staging: list[dict[str, str]] = field(default_factory=list)
    performance: list[dict[str, str]] = field(default_factory=list)
    disease_status: list[dict[str, str]] = field(default_factory=list)
    metastases: list[dict[str, str]] = field(default_factory=list)
    systemic_therapy: list[dict[str, str]] = field(default_factory=list)
    radiotherapy: list[dict[str, str]] = field(default_factory=list)


def group_by_patient(files: Mapping[str, list[dict[str, str]]]) -> Iterator[PatientRows]:
    """Rows of a registry folder grouped per patient (patients in file order)."""

    def records(name: str) -> list[dict[str, str]]:
        return files.get(name, [])

    tumour_owner: dict[str, str] = {}
    by: dict[str, PatientRows] = {}
    for p in records("patients"):
        by[p["patient_id"]] = PatientRows(p)
    for t in records("tumours"):
        tumour_owner[t["tumour_id"]] = t["patient_id"]
        by[t["patient_id"]].tumours.append(t)
    for i in records("imaging"):
        by[tumour_owner[i["tumour_id"]]].imaging.append(i)
    intervention_owner: dict[str, str] = {}
    for i in records("interventions"):
        intervention_owner[i["intervention_id"]] = i["patient_id"]
        by[i["patient_id"]].interventions.append(i)
    for r in records("pathology"):
        by[intervention_owner[r["intervention_id"]]].pathology.append(r)
    for r in records("complications"):
        by[intervention_owner[r["intervention_id"]]].complications.append(r)
    for r in records("labs"):
        by[r["patient_id"]].labs.append(r)
    for r in records("events"):
        by[r["patient_id"]].events.append(r)
    for r in records("staging"):
        by[tumour_owner[r["tumour_id"]]].staging.append(r)
    for name in ("performance", "disease_status", "metastases", "systemic_therapy", "radiotherapy"):
        for r in records(name):
            getattr(by[r["patient_id"]], name).append(r)
    yield from by.values()


# --------------------------------------------------------------------------- resources


def patient_resource(p: Mapping[str, str]) -> Resource:
    pid = resource_id("p", p["patient_id"])
    res: Resource = {
        "resourceType": "Patient",
        "id": pid,
        "meta": {"profile": [c.PROFILE["patient"]]},
        "extension": [registry_row("patients", p)],
        "identifier": [_identifier("patient", p["patient_id"])],
        # The registry holds no names (pseudonymous ids only): say so instead of inventing one.
        "name": [{"extension": [{"url": c.DATA_ABSENT, "valueCode": "masked"}]}],
        "gender": p["sex"],
        "birthDate": p["birth_date"],
    }
    if p.get("death_date"):
        res["deceasedDateTime"] = p["death_date"]
    return res


def _laterality(side: str) -> dict[str, Any]:
    return {
        "url": c.EXT_LATERALITY,
        "valueCodeableConcept": {"coding": [c.sct(f"laterality_{side}")]},
    }


def _kidney_site(side: str) -> dict[str, Any]:
    return {"extension": [_laterality(side)], "coding": [c.sct("kidney")], "text": "Kidney"}


def condition_resource(t: Mapping[str, str], patient_ref: dict[str, str]) -> Resource:
    """The tumour as a Condition (see module doc for which get the mCODE profile)."""
    hist = c.histologies().get(t.get("histology", ""))
    side = t["side"]
    res: Resource = {
        "resourceType": "Condition",
        "id": resource_id("t", t["tumour_id"]),
        "extension": [registry_row("tumours", t)],
        "identifier": [_identifier("tumour", t["tumour_id"])],
        "category": [{"coding": [{"system": c.CONDITION_CATEGORY, "code": "problem-list-item"}]}],
        "bodySite": [_kidney_site(side)],
        "subject": patient_ref,
        "onsetDateTime": t["diagnosis_date"],
    }
    if hist is not None and hist.icdo3:
        res["extension"].insert(
            0, {"url": c.EXT_HISTOLOGY, "valueCodeableConcept": morphology(hist)}
        )
    if hist is not None and hist.malignant is not None and side in hist.icd10cm:
        res["meta"] = {"profile": [c.PROFILE["primary"]]} if hist.malignant else {}
        res["verificationStatus"] = {"coding": [{"system": c.CONDITION_VER, "code": "confirmed"}]}
        code = hist.icd10cm[side]
        coding = [
            {"system": c.ICD10CM, "code": code, "display": hist.icd10cm_display},
            {"system": c.ICD10, "code": hist.icd10_who},
        ]
        if hist.malignant:
            coding.append(c.sct("kidney_cancer"))
        res["code"] = {"coding": coding, "text": f"{hist.icd10cm_display}, {side}"}
    elif hist is not None and hist.icdo3:
        # Uncertain behaviour (WHO 2022 clear cell papillary renal cell tumour, /1): confirmed,
        # but no ICD-10 code is held for it; the ICD-O-3 code is in the histology extension.
        res["verificationStatus"] = {"coding": [{"system": c.CONDITION_VER, "code": "confirmed"}]}
        res["code"] = {
            "text": f"Renal tumour of uncertain behaviour ({hist.icdo3_display}), {side} kidney"
        }
    else:
        # No histology that names the disease: a renal tumour, not (yet) a coded diagnosis.
        res["verificationStatus"] = {"coding": [{"system": c.CONDITION_VER, "code": "provisional"}]}
        recorded = t.get("histology") or "not recorded"
        res["code"] = {"text": f"Renal tumour, {side} kidney (histology {recorded})"}
    if not res.get("meta"):
        res.pop("meta", None)
    return res


def morphology(hist: c.Histology) -> dict[str, Any]:
    """The ICD-O-3 morphology/behaviour code, with the WHO 2022 name as text."""
    return {"coding": [{"system": c.ICDO3, "code": hist.icdo3}], "text": hist.icdo3_display}


def tumor_body_structure(t: Mapping[str, str], patient_ref: dict[str, str]) -> Resource:
    hist = c.histologies().get(t.get("histology", ""))
    res: Resource = {
        "resourceType": "BodyStructure",
        "id": resource_id("bs", t["tumour_id"]),
        "meta": {"profile": [c.PROFILE["tumor"]]},
        "extension": [
            {
                "url": c.EXT_RELATED_CONDITION,
                "valueReference": _ref("Condition", resource_id("t", t["tumour_id"])),
            }
        ],
        "identifier": [
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {"system": "http://hl7.org/fhir/resource-types", "code": "BodyStructure"}
                    ]
                },
                "system": c.id_system("tumour"),
                "value": t["tumour_id"],
            }
        ],
        "location": {"coding": [c.sct("kidney")], "text": "Kidney"},
        "locationQualifier": [{"coding": [c.sct(f"laterality_{t['side']}")]}],
        "patient": patient_ref,
    }
    if hist is not None and hist.icdo3:
        res["morphology"] = morphology(hist)
    return res


_TNM = {"t": ("t", "T"), "n": ("n", "N"), "m": ("m", "M")}


def tnm_value(prefix: str, value: str) -> dict[str, Any]:
    """A TNM category as mCODE's value sets code it: the SNOMED CT concept of the AJCC
    category (`registry/codes/tnm_snomed.csv`) with the prefixed category as text. A
    pathological M0 is coded cM0 (AJCC 8 has no pM0); y/r-prefixed categories and MX have no
    concept held and stay text."""
    key = f"{prefix}{value}"
    if key == "pM0":
        key = "cM0"
    coding = c.tnm_coding(key)
    concept: dict[str, Any] = {"text": f"{prefix}{value}"}
    if coding is not None:
        concept["coding"] = [coding]
    return concept


def stage_value(group: str) -> dict[str, Any]:
    coding = c.tnm_coding(f"stage {group}")
    concept: dict[str, Any] = {"text": f"Stage {group}"}
    if coding is not None:
        concept["coding"] = [coding]
    return concept


def tnm_text_prefix(tnm_prefix: str, kind: str) -> str:
    """How a category of a row is prefixed in writing: y/r/yr before the row's c or p
    (ypT2, rcN1, yrpT3a); the autopsy classification is written aT2 (it has no c/p)."""
    if "a" in tnm_prefix:
        return tnm_prefix
    return tnm_prefix + kind


def tnm_observation(
    axis: str,
    basis: str,
    value: str,
    *,
    oid: str,
    date: str,
    patient_ref: dict[str, str],
    condition_ref: dict[str, str],
    prefix: str | None = None,
    method: str = "ajcc8",
) -> Resource:
    """A TNM category Observation: `basis` clinical or pathological picks the observable
    (cT / pT category ...); the value is coded by `tnm_value` with its c/p (or y/r) prefix."""
    prefix = prefix or ("c" if basis == "clinical" else "p")
    return {
        "resourceType": "Observation",
        "id": oid,
        "meta": {"profile": [c.PROFILE[axis]]},
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": c.OBS_CATEGORY,
                        "code": "laboratory" if basis == "pathological" else "exam",
                    }
                ]
            }
        ],
        "code": {"coding": [c.sct(f"{axis}_{basis}")]},
        "subject": patient_ref,
        "focus": [condition_ref],
        "effectiveDateTime": date,
        "valueCodeableConcept": tnm_value(prefix, value),
        "method": {"coding": [c.sct(method)]},
    }


def stage_observation(
    basis: str,
    t: str,
    n: str,
    m: str,
    *,
    oid: str,
    date: str,
    patient_ref: dict[str, str],
    condition_ref: dict[str, str],
    members: list[str],
) -> Resource | None:
    """The AJCC 8 stage group, derived from T/N/M (`clinical.staging`); None when undefined."""
    try:
        group = stage_group(t, n, m)
    except ClinicalInputError:
        return None
    return {
        "resourceType": "Observation",
        "id": oid,
        "meta": {"profile": [c.PROFILE["stage"]]},
        "status": "final",
        "category": [{"coding": [{"system": c.OBS_CATEGORY, "code": "survey"}]}],
        "code": {"coding": [c.sct(f"stage_{basis}")]},
        "subject": patient_ref,
        "focus": [condition_ref],
        "effectiveDateTime": date,
        "valueCodeableConcept": stage_value(group),
        "method": {"coding": [c.sct("ajcc8")]},
        "hasMember": [_ref("Observation", mid) for mid in members],
        "note": [{"text": "Derived by renalpath from the T, N and M categories (AJCC 8)."}],
    }


def _tnm_set(
    basis: str,
    values: Mapping[str, str],
    *,
    prefix: str,
    registry_id: str,
    date: str,
    patient_ref: dict[str, str],
    condition_ref: dict[str, str],
    tnm_prefix: str = "",
    tnm: Callable[..., Built] | None = None,
) -> list[Built]:
    """The T, N and M Observations of one registry row, and the stage group derived from
    them. A row with a meaningful prefix (`tnm_prefix` y, r, a, yr) writes its categories
    with it (ypT2, rcN1, aT2: text only, no SNOMED CT concept is held for them) and gets no
    derived stage group: a clinical or pathological stage observable would misname it."""
    out: list[Built] = []
    ids: list[str] = []
    written = tnm_text_prefix(tnm_prefix, prefix)
    build = tnm or tnm_observation
    for axis in ("t", "n", "m"):
        if values.get(axis):
            oid = resource_id(f"{prefix}{axis}", registry_id)
            ids.append(oid)
            out.append(
                build(
                    axis,
                    basis,
                    values[axis],
                    oid=oid,
                    date=date,
                    patient_ref=patient_ref,
                    condition_ref=condition_ref,
                    prefix=written,
                )
            )
    if not tnm_prefix and all(values.get(a) for a in ("t", "n", "m")):
        stage = stage_observation(
            basis,
            values["t"],
            values["n"],
            values["m"],
            oid=resource_id(f"{prefix}stage", registry_id),
            date=date,
            patient_ref=patient_ref,
            condition_ref=condition_ref,
            members=ids,
        )
        if stage is not None:
            out.append(stage)
    return out


def tumor_size(
    size_mm: str,
    *,
    oid: str,
    date: str,
    patient_ref: dict[str, str],
    body_ref: dict[str, str] | None,
    method_text: str,
    row_ext: dict[str, Any] | None,
    method_key: str | None = None,
) -> Resource:
    res: Resource = {
        "resourceType": "Observation",
        "id": oid,
        "meta": {"profile": [c.PROFILE["tumor_size"]]},
        "status": "final",
        "code": {"coding": [{"system": c.LOINC, "code": "21889-1", "display": "Size Tumor"}]},
        "subject": patient_ref,
        "effectiveDateTime": date,
        "method": {"text": method_text} | ({"coding": [c.sct(method_key)]} if method_key else {}),
        "component": [
            {
                "code": {
                    "coding": [
                        {
                            "system": c.LOINC,
                            "code": "33728-7",
                            "display": "Size.maximum dimension in Tumor",
                        }
                    ]
                },
                "valueQuantity": {
                    "value": float(size_mm),
                    "unit": "mm",
                    "system": c.UCUM,
                    "code": "mm",
                },
            }
        ],
    }
    if body_ref is not None:
        res["focus"] = [body_ref]
    if row_ext is not None:
        res["extension"] = [row_ext]
    return res


def procedure_resource(
    i: Mapping[str, str],
    patient_ref: dict[str, str],
    pathology: Mapping[str, str] | None,
    complications: list[dict[str, str]],
) -> Resource:
    extensions = [registry_row("interventions", i)]
    if pathology is not None:
        extensions.append(registry_row("pathology", pathology))
    extensions.extend(registry_row("complications", r) for r in complications)
    surgical = i["type"] in SURGICAL_TYPES
    res: Resource = {
        "resourceType": "Procedure",
        "id": resource_id("i", i["intervention_id"]),
        "extension": extensions,
        "identifier": [_identifier("intervention", i["intervention_id"])],
        "status": "in-progress" if i["type"] == "active_surveillance" else "completed",
        "code": _enum("intervention-type", i["type"]),
        "subject": patient_ref,
        "performedDateTime": i["date"],
    }
    if surgical:
        res["meta"] = {"profile": [c.PROFILE["surgery"]]}
    if i.get("intent") == "palliative":
        res["extension"].insert(
            0,
            {
                "url": c.EXT_PROCEDURE_INTENT,
                "valueCodeableConcept": {"coding": [c.sct("intent_palliative")]},
            },
        )
    if i.get("intent"):
        res["category"] = _enum("intervention-intent", i["intent"])
    if i.get("parent_intervention_id"):
        res["partOf"] = [_ref("Procedure", resource_id("i", i["parent_intervention_id"]))]
    if i.get("tumour_id"):
        res["reasonReference"] = [_ref("Condition", resource_id("t", i["tumour_id"]))]
    if i.get("side"):
        res["bodySite"] = [_kidney_site(i["side"])]
    if complications:
        res["complication"] = [
            {"text": f"Clavien-Dindo grade {r['clavien_dindo']}"} for r in complications
        ]
    return res


def lab_observation(r: Mapping[str, str], patient_ref: dict[str, str], oid: str) -> Resource:
    return lab_resource(
        r,
        patient_ref,
        oid,
        ext=registry_row("labs", r),
        value=float(r["value"]),
        low=float(r["lln"]) if r.get("lln") else None,
        high=float(r["uln"]) if r.get("uln") else None,
    )


def lab_resource(
    r: Mapping[str, str],
    patient_ref: Any,
    oid: Any,
    *,
    ext: Any,
    value: Any,
    low: Any | None,
    high: Any | None,
) -> Resource:
    """The laboratory Observation of `lab_observation`, with its numbers and registry-row
    extension given (so `interop.fhir.ndjson` can build its text template from this same
    code, with placeholders in their places); `low` / `high` None when not recorded."""
    unit = r["unit"]
    ucum = c.ucum_units().get(unit)
    loinc = c.lab_loinc(r["test"], unit, r.get("equation", ""))
    code: dict[str, Any] = {
        "coding": [{"system": c.enum_system("lab-test"), "code": r["test"]}],
        "text": r["test"],
    }
    if loinc is not None:
        code["coding"].insert(0, {"system": c.LOINC, "code": loinc.loinc, "display": loinc.display})
    quantity: dict[str, Any] = {"value": value, "unit": unit}
    if r.get("comparator"):  # a censored value (">90"): FHIR's Quantity.comparator says so
        quantity["comparator"] = r["comparator"]
    if ucum is not None:
        quantity.update(system=c.UCUM, code=ucum[0])
    res: Resource = {
        "resourceType": "Observation",
        "id": oid,
        "extension": [ext],
        "status": "final",
        "category": [{"coding": [{"system": c.OBS_CATEGORY, "code": "laboratory"}]}],
        "code": code,
        "subject": patient_ref,
        "effectiveDateTime": r["date"],
        "valueQuantity": quantity,
    }
    limits: dict[str, Any] = {}
    for bound, limit in (("low", low), ("high", high)):
        if limit is not None:
            limits[bound] = {
                k: v for k, v in quantity.items() if k not in ("value", "comparator")
            } | {"value": limit}
    if limits:
        res["referenceRange"] = [limits]
    return res


def event_observation(r: Mapping[str, str], patient_ref: dict[str, str], oid: str) -> Resource:
    res: Resource = {
        "resourceType": "Observation",
        "id": oid,
        "extension": [registry_row("events", r)],
        "status": "final",
        "code": _enum("event-type", r["type"]),
        "subject": patient_ref,
        "effectiveDateTime": r["date"],
        "valueCodeableConcept": _enum("event-type", r["type"]),
    }
    tumour_ref = None
    if r.get("tumour_id"):
        tumour_ref = _ref("Condition", resource_id("t", r["tumour_id"]))
        res["focus"] = [tumour_ref]
    if r.get("detail"):
        res["note"] = [{"text": r["detail"]}]
    if r["type"] in PROGRESSION_EVENTS and tumour_ref is not None:
        # mCODE CancerDiseaseStatus: the recorded recurrence/metastasis means "worsened".
        res["meta"] = {"profile": [c.PROFILE["disease_status"]]}
        res["code"] = {
            "coding": [
                {"system": c.LOINC, "code": "97509-4", "display": "Cancer Disease Progression"}
            ]
        }
        res["valueCodeableConcept"] = {"coding": [c.sct("status_worsened")], "text": r["type"]}
        res["category"] = [{"coding": [{"system": c.OBS_CATEGORY, "code": "exam"}]}]
    return res


SOURCE = f"{c.NS}/registry"  # meta.source of every exported resource


def with_source(res: Resource) -> Resource:
    """`res` with `meta.source` (first in `meta`; a new `meta` goes last in the resource)."""
    res["meta"] = {"source": SOURCE, **res.get("meta", {})}
    return res


DICT_BUILDERS = Builders(lab=lab_observation, tnm=tnm_observation)


def patient_resources(rows: PatientRows) -> list[Resource]:
    """Every resource of one patient, the Patient first (each with meta.source)."""
    # The dict builders build dicts only.
    return [with_source(res) for res in cast(list[Resource], built_resources(rows))]


def built_resources(rows: PatientRows, builders: Builders = DICT_BUILDERS) -> list[Built]:
    """Every resource of one patient, the Patient first: dicts without `meta.source` (see
    `with_source`), or, from the text builders, `Encoded` texts with it."""
    p = rows.patient
    patient = patient_resource(p)
    pref = _ref("Patient", patient["id"])
    out: list[Built] = [patient]
    for t in rows.tumours:
        cond = condition_resource(t, pref)
        body = tumor_body_structure(t, pref)
        out += [cond, body]
        out += _tnm_set(
            "clinical",
            {"t": t.get("ct", ""), "n": t.get("cn", ""), "m": t.get("cm", "")},
            prefix="c",
            tnm_prefix=t.get("tnm_prefix", ""),
            registry_id=t["tumour_id"],
            date=t["diagnosis_date"],
            patient_ref=pref,
            condition_ref=_ref("Condition", cond["id"]),
            tnm=builders.tnm,
        )
    for im in rows.imaging:
        body_ref = _ref("BodyStructure", resource_id("bs", im["tumour_id"]))
        out.append(
            tumor_size(
                im["size_mm"],
                oid=resource_id(
                    "img", f"{im['tumour_id']}.{im['date']}.{im.get('modality') or 'x'}"
                ),
                date=im["date"],
                patient_ref=pref,
                body_ref=body_ref,
                method_text=f"imaging ({im.get('modality') or 'modality not recorded'})",
                row_ext=registry_row("imaging", im),
                method_key=f"method_{im['modality']}" if im.get("modality") else None,
            )
        )
    path_of = {r["intervention_id"]: r for r in rows.pathology}
    comps: dict[str, list[dict[str, str]]] = {}
    for r in rows.complications:
        comps.setdefault(r["intervention_id"], []).append(r)
    for i in rows.interventions:
        iid = i["intervention_id"]
        path = path_of.get(iid)
        out.append(procedure_resource(i, pref, path, comps.get(iid, [])))
        if path is None:
            continue
        tumour_id = i.get("tumour_id", "")
        cref = _ref("Condition", resource_id("t", tumour_id)) if tumour_id else None
        if cref is not None:
            out += _tnm_set(
                "pathological",
                {"t": path.get("pt", ""), "n": path.get("pn", ""), "m": path.get("pm", "")},
                prefix="p",
                tnm_prefix=path.get("tnm_prefix", ""),
                registry_id=iid,
                date=i["date"],
                patient_ref=pref,
                condition_ref=cref,
                tnm=builders.tnm,
            )
        if path.get("size_mm"):
            size_focus = _ref("BodyStructure", resource_id("bs", tumour_id)) if tumour_id else None
            out.append(
                tumor_size(
                    path["size_mm"],
                    oid=resource_id("psize", iid),
                    date=i["date"],
                    patient_ref=pref,
                    body_ref=size_focus,
                    method_text="pathology (gross examination)",
                    row_ext=None,
                    method_key="method_gross",
                )
            )
    lab = builders.lab
    for r in rows.labs:
        oid = resource_id("lab", f"{p['patient_id']}.{r['date']}.{r['test']}")
        out.append(lab(r, pref, oid))
    for r in rows.events:
        oid = resource_id(
            "ev", f"{p['patient_id']}.{r.get('tumour_id', '')}.{r['date']}.{r['type']}"
        )
        out.append(event_observation(r, pref, oid))
    out += _coded_resources(rows, pref, builders)
    return out


def _coded_resources(rows: PatientRows, pref: dict[str, str], builders: Builders) -> list[Built]:
    from renalpath.interop.fhir import coded  # it builds on this module's helpers

    out: list[Built] = []
    for r in rows.staging:
        out += coded.staging_resources(r, pref, tnm=builders.tnm)
    for r in rows.performance:
        out += coded.performance_observations(r, pref)
    out += [coded.disease_status_observation(r, pref) for r in rows.disease_status]
    out += [coded.metastasis_condition(r, pref) for r in rows.metastases]
    out += [coded.medication_request(r, pref) for r in rows.systemic_therapy]
    for r in rows.radiotherapy:
        out += coded.radiotherapy_resources(r, pref)
    return out
