"""Code systems and code maps of the FHIR mapping, read from data files with their sources.

Every map is data with its source, so a code is corrected where it is written and the mapping
code holds no clinical vocabulary of its own. The registry's own vocabularies are in
`registry/codes/` (`registry.vocab`): histology → ICD-O-3, the SNOMED CT concepts of the AJCC
kidney categories and stage groups, lab test → LOINC, unit → UCUM, agents → ATC / RxNorm,
body sites → SNOMED CT. Beside this module (`data/*.csv`):

* `icd10_kidney.csv`: the ICD-10-CM kidney code by behaviour and side (malignant: C64.1 right /
  C64.2 left; benign: D30.01 / D30.02) and the WHO ICD-10 code (C64 / D30.0, no side); tumours
  of uncertain behaviour, "other" and "unknown" get none (no code is invented).
* `snomed.csv`: the other SNOMED CT concepts used, by reference only (code + display, no
  content), each with the mCODE value set it was taken from.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from renalpath.registry import vocab

# Code-system URIs (HL7 terminology registry names).
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"

# renalpath's own namespace: identifiers, the registry's enumerations as code systems, and the
# extension that carries registry columns FHIR/mCODE has no element for.
NS = "https://renalpath.org/fhir"
REGISTRY_ROW = f"{NS}/StructureDefinition/registry-row"


def id_system(kind: str) -> str:
    """Identifier system of a registry id ("patient", "tumour", "intervention")."""
    return f"{NS}/id/{kind}"


def enum_system(name: str) -> str:
    """Code system of a registry enumeration ("intervention-type", "event-type", ...)."""
    return f"{NS}/CodeSystem/{name}"


MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition"
PROFILE = {
    "patient": f"{MCODE}/mcode-cancer-patient",
    "primary": f"{MCODE}/mcode-primary-cancer-condition",
    "tumor": f"{MCODE}/mcode-tumor",
    "tumor_size": f"{MCODE}/mcode-tumor-size",
    "t": f"{MCODE}/mcode-tnm-primary-tumor-category",
    "n": f"{MCODE}/mcode-tnm-regional-nodes-category",
    "m": f"{MCODE}/mcode-tnm-distant-metastases-category",
    "stage": f"{MCODE}/mcode-tnm-stage-group",
    "surgery": f"{MCODE}/mcode-cancer-related-surgical-procedure",
    "disease_status": f"{MCODE}/mcode-cancer-disease-status",
    "bundle": f"{MCODE}/mcode-patient-bundle",
    "ecog": f"{MCODE}/mcode-ecog-performance-status",
    "karnofsky": f"{MCODE}/mcode-karnofsky-performance-status",
    "secondary": f"{MCODE}/mcode-secondary-cancer-condition",
    "medication_request": f"{MCODE}/mcode-cancer-related-medication-request",
    "medication_administration": f"{MCODE}/mcode-cancer-related-medication-administration",
    "radiotherapy": f"{MCODE}/mcode-radiotherapy-course-summary",
    "radiotherapy_volume": f"{MCODE}/mcode-radiotherapy-volume",
}
# The resource types the export writes, each with the mCODE profiles its resources carry
# (`mapping.py`, `coded.py`): the CapabilityStatement, the search route and the Bulk `_type`
# list all read this one table.
EXPORTED_PROFILES: dict[str, tuple[str, ...]] = {
    "Patient": (PROFILE["patient"],),
    "Condition": (PROFILE["primary"], PROFILE["secondary"]),
    "BodyStructure": (PROFILE["tumor"], PROFILE["radiotherapy_volume"]),
    "Observation": tuple(
        PROFILE[k]
        for k in ("t", "n", "m", "stage", "tumor_size", "disease_status", "ecog", "karnofsky")
    ),
    "Procedure": (PROFILE["surgery"], PROFILE["radiotherapy"]),
    "MedicationRequest": (PROFILE["medication_request"],),
}
EXT_HISTOLOGY = f"{MCODE}/mcode-histology-morphology-behavior"
EXT_LATERALITY = f"{MCODE}/mcode-laterality-qualifier"
EXT_RELATED_CONDITION = f"{MCODE}/mcode-related-condition"
EXT_PROCEDURE_INTENT = f"{MCODE}/mcode-procedure-intent"
EXT_EVIDENCE_TYPE = f"{MCODE}/mcode-cancer-disease-status-evidence-type"
EXT_RT_MODALITY_TECHNIQUE = f"{MCODE}/mcode-radiotherapy-modality-and-technique"
EXT_RT_MODALITY = f"{MCODE}/mcode-radiotherapy-modality"
EXT_RT_DOSE = f"{MCODE}/mcode-radiotherapy-dose-delivered-to-volume"
EXT_CONDITION_RELATED = "http://hl7.org/fhir/StructureDefinition/condition-related"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
# LOINC codes of the mCODE performance-status profiles (their fixed Observation.code).
LOINC_ECOG = "89247-1"
LOINC_KARNOFSKY = "89243-0"
LOINC_DISEASE_STATUS = "97509-4"


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("renalpath.interop.fhir").joinpath("data", name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@dataclass(frozen=True)
class Histology:
    name: str
    malignant: bool | None  # None: uncertain behaviour, other, unknown (no ICD-10 code)
    icdo3: str
    icdo3_display: str  # the WHO 2022 name
    icd10cm: dict[str, str]  # side -> code
    icd10cm_display: str
    icd10_who: str  # WHO ICD-10 has no side: C64 / D30.0


@cache
def histologies() -> dict[str, Histology]:
    icd10: dict[str, dict[str, dict[str, str]]] = {}
    for r in _rows("icd10_kidney.csv"):
        icd10.setdefault(r["behaviour"], {})[r["side"]] = r
    out: dict[str, Histology] = {}
    for h in vocab.histologies().values():
        malignant = {"malignant": True, "benign": False}.get(h.behaviour)
        by_side = icd10.get(h.behaviour, {})
        any_side = next(iter(by_side.values()), {})
        out[h.name] = Histology(
            h.name,
            malignant,
            h.icdo3,
            h.who_name,
            {side: r["icd10cm"] for side, r in by_side.items()},
            any_side.get("icd10cm_display", ""),
            any_side.get("icd10_who", ""),
        )
    return out


def histology_by_icdo3() -> dict[str, tuple[str, ...]]:
    """ICD-O-3 code → registry histologies (several where WHO 2022 subtypes share a code)."""
    return vocab.histology_by_icdo3()


LabCode = vocab.LabCode
lab_codes = vocab.lab_codes
ucum_units = vocab.ucum_units
lab_loinc = vocab.lab_loinc


@cache
def lab_by_loinc() -> dict[str, LabCode]:
    return {c.loinc: c for c in lab_codes()}


@cache
def snomed() -> dict[str, tuple[str, str]]:
    """Key → (SNOMED CT code, display)."""
    return {r["key"]: (r["code"], r["display"]) for r in _rows("snomed.csv")}


def sct(key: str) -> dict[str, str]:
    code, display = snomed()[key]
    return {"system": SNOMED, "code": code, "display": display}


def tnm_coding(key: str) -> dict[str, str] | None:
    """SNOMED CT coding of an AJCC kidney category or stage group ("cT1a", "stage III"), or
    None when none is held (y/r-prefixed categories, MX)."""
    found = vocab.tnm_snomed().get(key)
    if found is None:
        return None
    return {"system": SNOMED, "code": found[0], "display": found[1]}


def body_site_coding(site: str) -> dict[str, str] | None:
    code, display = vocab.body_sites().get(site, ("", ""))
    return {"system": SNOMED, "code": code, "display": display} if code else None


@cache
def body_site_by_snomed() -> dict[str, str]:
    return {code: site for site, (code, _) in vocab.body_sites().items() if code}


@cache
def agent_by_code() -> dict[tuple[str, str], str]:
    """(system, code) → registry agent, for ATC and RxNorm."""
    out: dict[tuple[str, str], str] = {}
    for a in vocab.agents().values():
        if a.atc:
            out[(ATC, a.atc)] = a.agent
        if a.rxnorm:
            out[(RXNORM, a.rxnorm)] = a.agent
    return out


@cache
def snomed_key(prefix: str) -> dict[str, str]:
    """SNOMED CT code → the suffix of its `snomed.csv` key starting with `prefix`
    ("status_" → {"271299001": "worsened", ...})."""
    return {
        code: key[len(prefix) :] for key, (code, _) in snomed().items() if key.startswith(prefix)
    }
