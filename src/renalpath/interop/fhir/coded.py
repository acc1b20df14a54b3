"""The coded records as mCODE resources (export side; `importer` reads them back).

* staging → a TNMStageGroup Observation (the staging record: stage group as recorded, AJCC
  edition as its method, carrying the registry row) with its T, N and M category Observations
  as `hasMember`; categories and groups coded with SNOMED CT (`mapping.tnm_value`);
* performance → ECOGPerformanceStatus and/or KarnofskyPerformanceStatus Observations
  (LOINC 89247-1 / 89243-0, valueInteger);
* disease_status → CancerDiseaseStatus (LOINC 97509-4, the mCODE condition-status-trend value,
  evidence type extension);
* metastases → SecondaryCancerCondition (SNOMED CT 128462008 "metastatic malignant neoplasm"
  with the site as bodySite, related to the primary tumour's Condition);
* systemic_therapy → CancerRelatedMedicationRequest (medication coded with RxNorm and ATC where
  `registry/codes/agents.csv` holds them; the course as the dosage's bounds period; stop reason
  from mCODE's treatment-termination-reason value set);
* radiotherapy → RadiotherapyCourseSummary Procedure (modality, site, total dose in cGy and
  fractions delivered to a RadiotherapyVolume BodyStructure of the site).

Each resource carries its registry row in the `registry-row` extension, so the round trip is
exact; the standard elements are what other systems read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from renalpath.interop.fhir import codes as c
from renalpath.interop.fhir.mapping import (
    Built,
    Resource,
    registry_row,
    resource_id,
    stage_value,
    tnm_observation,
)
from renalpath.registry import vocab

Row = Mapping[str, str]

_CLASSIFICATION_BASIS = {"c": "clinical", "yc": "clinical", "rc": "clinical"}
_TERMINATION = {"progression", "toxicity", "patient_choice", "death"}
# How a metastasis was found → mCODE evidence type (`data/snomed.csv`).
_DETECTION_EVIDENCE = {
    "imaging": "evidence_imaging",
    "biopsy": "evidence_histology",
    "surgery": "evidence_pathology",
    "clinical": "evidence_physical_exam",
}


def _ref(kind: str, rid: str) -> dict[str, str]:
    return {"reference": f"{kind}/{rid}"}


def _tumour_ref(tumour_id: str) -> dict[str, str]:
    return _ref("Condition", resource_id("t", tumour_id))


def _enum(name: str, value: str) -> dict[str, Any]:
    return {"coding": [{"system": c.enum_system(name), "code": value}], "text": value}


def staging_resources(
    r: Row, patient_ref: dict[str, str], *, tnm: Callable[..., Built] = tnm_observation
) -> list[Built]:
    """One staging record: its stage-group Observation first (with the registry row), then
    its T, N and M category Observations (built by `tnm`: dicts, or their text)."""
    rid = f"{r['tumour_id']}.{r['date']}.{r['classification']}"
    cls = r["classification"]
    basis = _CLASSIFICATION_BASIS.get(cls, "pathological")
    method = f"ajcc{r['ajcc_edition']}"
    focus = _tumour_ref(r["tumour_id"])
    members: list[Built] = []
    ids: list[str] = []
    for axis, col in (("t", "t_category"), ("n", "n_category"), ("m", "m_category")):
        if r.get(col):
            ids.append(resource_id(f"st{axis}", rid))
            members.append(
                tnm(
                    axis,
                    basis,
                    r[col],
                    oid=ids[-1],
                    date=r["date"],
                    patient_ref=patient_ref,
                    condition_ref=focus,
                    prefix=cls,
                    method=method,
                )
            )
    group: Resource = {
        "resourceType": "Observation",
        "id": resource_id("stg", rid),
        "meta": {"profile": [c.PROFILE["stage"]]},
        "extension": [registry_row("staging", r)],
        "status": "final",
        "category": [{"coding": [{"system": c.OBS_CATEGORY, "code": "survey"}]}],
        "code": {"coding": [c.sct(f"stage_{basis}")]},
        "subject": patient_ref,
        "focus": [focus],
        "effectiveDateTime": r["date"],
        "method": {"coding": [c.sct(method)]},
    }
    if r.get("stage_group"):
        group["valueCodeableConcept"] = stage_value(r["stage_group"])
    if members:
        group["hasMember"] = [_ref("Observation", mid) for mid in ids]
    if cls not in ("c", "p"):
        group["note"] = [{"text": f"AJCC classification {cls} (prefixed categories)."}]
    return [group, *members]


def performance_observations(r: Row, patient_ref: dict[str, str]) -> list[Resource]:
    """ECOG and/or Karnofsky; the first carries the registry row."""
    out: list[Resource] = []
    rid = f"{r['patient_id']}.{r['date']}"
    for col, profile, loinc, display in (
        ("ecog", "ecog", c.LOINC_ECOG, "ECOG Performance Status score"),
        ("karnofsky", "karnofsky", c.LOINC_KARNOFSKY, "Karnofsky Performance Status score"),
    ):
        if not r.get(col):
            continue
        res: Resource = {
            "resourceType": "Observation",
            "id": resource_id(col, rid),
            "meta": {"profile": [c.PROFILE[profile]]},
            "status": "final",
            "category": [{"coding": [{"system": c.OBS_CATEGORY, "code": "survey"}]}],
            "code": {"coding": [{"system": c.LOINC, "code": loinc, "display": display}]},
            "subject": patient_ref,
            "effectiveDateTime": r["date"],
            "valueInteger": int(r[col]),
        }
        if not out:
            res["extension"] = [registry_row("performance", r)]
        out.append(res)
    return out


def disease_status_observation(r: Row, patient_ref: dict[str, str]) -> Resource:
    rid = f"{r['patient_id']}.{r.get('tumour_id', '')}.{r['date']}"
    res: Resource = {
        "resourceType": "Observation",
        "id": resource_id("ds", rid),
        "meta": {"profile": [c.PROFILE["disease_status"]]},
        "extension": [registry_row("disease_status", r)],
        "status": "final",
        "category": [{"coding": [{"system": c.OBS_CATEGORY, "code": "exam"}]}],
        "code": {
            "coding": [
                {
                    "system": c.LOINC,
                    "code": c.LOINC_DISEASE_STATUS,
                    "display": "Cancer Disease Progression",
                }
            ]
        },
        "subject": patient_ref,
        "effectiveDateTime": r["date"],
        "valueCodeableConcept": {"coding": [c.sct(f"status_{r['status']}")], "text": r["status"]},
    }
    if r.get("tumour_id"):
        res["focus"] = [_tumour_ref(r["tumour_id"])]
    if r.get("evidence"):
        res["extension"].insert(
            0,
            {
                "url": c.EXT_EVIDENCE_TYPE,
                "valueCodeableConcept": {"coding": [c.sct(f"evidence_{r['evidence']}")]},
            },
        )
    return res


def metastasis_condition(r: Row, patient_ref: dict[str, str]) -> Resource:
    rid = f"{r['patient_id']}.{r['date']}.{r['site']}"
    site = c.body_site_coding(r["site"])
    res: Resource = {
        "resourceType": "Condition",
        "id": resource_id("met", rid),
        "meta": {"profile": [c.PROFILE["secondary"]]},
        "extension": [registry_row("metastases", r)],
        "clinicalStatus": {"coding": [{"system": c.CONDITION_CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": c.CONDITION_VER, "code": "confirmed"}]},
        "category": [{"coding": [{"system": c.CONDITION_CATEGORY, "code": "problem-list-item"}]}],
        "code": {
            "coding": [c.sct("metastatic_neoplasm")],
            "text": f"Metastasis ({r['site'].replace('_', ' ')})",
        },
        "bodySite": [{"coding": [site], "text": r["site"]} if site else {"text": r["site"]}],
        "subject": patient_ref,
        "onsetDateTime": r["date"],
    }
    if r.get("tumour_id"):
        res["extension"].insert(
            0, {"url": c.EXT_CONDITION_RELATED, "valueReference": _tumour_ref(r["tumour_id"])}
        )
    if r.get("detection"):
        # mCODE binds the evidence code to its evidence-type value set (required binding).
        evidence = {"coding": [c.sct(_DETECTION_EVIDENCE[r["detection"]])], "text": r["detection"]}
        res["evidence"] = [{"code": [evidence]}]
    return res


def medication_request(r: Row, patient_ref: dict[str, str]) -> Resource:
    rid = f"{r['patient_id']}.{r['agent']}.{r['start_date']}"
    agent = vocab.agents().get(r["agent"])
    coding: list[dict[str, str]] = []
    if agent is not None and agent.rxnorm:
        coding.append({"system": c.RXNORM, "code": agent.rxnorm})
    if agent is not None and agent.atc:
        coding.append({"system": c.ATC, "code": agent.atc})
    coding.append({"system": c.enum_system("agent"), "code": r["agent"]})
    name = agent.name if agent is not None else r["agent"]
    if r.get("end_date"):
        status = "stopped" if r.get("stop_reason") in _TERMINATION else "completed"
    else:
        status = "active"
    bounds = {"start": r["start_date"]} | ({"end": r["end_date"]} if r.get("end_date") else {})
    res: Resource = {
        "resourceType": "MedicationRequest",
        "id": resource_id("med", rid),
        "meta": {"profile": [c.PROFILE["medication_request"]]},
        "extension": [registry_row("systemic_therapy", r)],
        "status": status,
        "intent": "order",
        "category": [_enum("systemic-therapy-line", r["line"])] if r.get("line") else [],
        "medicationCodeableConcept": {"coding": coding, "text": name},
        "subject": patient_ref,
        "authoredOn": r["start_date"],
        # US Core requires a requester on an order; the registry holds no prescriber.
        "requester": {"extension": [{"url": c.DATA_ABSENT, "valueCode": "unknown"}]},
        "dosageInstruction": [
            {
                "text": f"regimen {r.get('regimen') or r['agent']}",
                "timing": {"repeat": {"boundsPeriod": bounds}},
            }
        ],
    }
    if not res["category"]:
        del res["category"]
    if r.get("tumour_id"):
        res["reasonReference"] = [_tumour_ref(r["tumour_id"])]
    reason = r.get("stop_reason")
    if reason:
        key = f"stop_{reason}"
        concept: dict[str, Any] = {"text": reason.replace("_", " ")}
        if key in c.snomed():
            concept["coding"] = [c.sct(key)]
        res["statusReason"] = concept
    return res


def radiotherapy_resources(r: Row, patient_ref: dict[str, str]) -> list[Resource]:
    """The course summary (with the registry row) and, when a dose or fraction count is
    recorded, the RadiotherapyVolume it was delivered to (mCODE's dose extension needs one)."""
    rid = f"{r['patient_id']}.{r['start_date']}.{r['site']}"
    site = c.body_site_coding(r["site"])
    site_concept: dict[str, Any] = (
        {"coding": [site], "text": r["site"]} if site else {"text": r["site"]}
    )
    period = {"start": r["start_date"]} | ({"end": r["end_date"]} if r.get("end_date") else {})
    extensions: list[dict[str, Any]] = []
    if r.get("modality"):
        extensions.append(
            {
                "url": c.EXT_RT_MODALITY_TECHNIQUE,
                "extension": [
                    {
                        "url": c.EXT_RT_MODALITY,
                        "valueCodeableConcept": {"coding": [c.sct(f"rt_{r['modality']}")]},
                    }
                ],
            }
        )
    out: list[Resource] = []
    if r.get("dose_gy") or r.get("fractions"):
        volume: Resource = {
            "resourceType": "BodyStructure",
            "id": resource_id("rtv", rid),
            "meta": {"profile": [c.PROFILE["radiotherapy_volume"]]},
            "identifier": [
                {"use": "usual", "system": c.id_system("radiotherapy-volume"), "value": rid}
            ],
            "description": f"Treated volume: {r['site'].replace('_', ' ')}",
            "location": site_concept,
            "patient": patient_ref,
        }
        out.append(volume)
        dose: list[dict[str, Any]] = [
            {"url": "volume", "valueReference": _ref("BodyStructure", volume["id"])}
        ]
        if r.get("dose_gy"):
            cgy = round(float(r["dose_gy"]) * 100, 6)
            dose.append(
                {
                    "url": "totalDoseDelivered",
                    "valueQuantity": {"value": cgy, "unit": "cGy", "system": c.UCUM, "code": "cGy"},
                }
            )
        if r.get("fractions"):
            dose.append({"url": "fractionsDelivered", "valueUnsignedInt": int(r["fractions"])})
        extensions.append({"url": c.EXT_RT_DOSE, "extension": dose})
    course: Resource = {
        "resourceType": "Procedure",
        "id": resource_id("rt", rid),
        "meta": {"profile": [c.PROFILE["radiotherapy"]]},
        "extension": [*extensions, registry_row("radiotherapy", r)],
        "status": "completed" if r.get("end_date") else "in-progress",
        "code": {"coding": [c.sct("radiotherapy_course")]},
        "subject": patient_ref,
        "performedPeriod": period,
        "bodySite": [site_concept],
    }
    if r.get("tumour_id"):
        course["reasonReference"] = [_tumour_ref(r["tumour_id"])]
    return [course, *out]
