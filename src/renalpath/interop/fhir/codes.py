"""Code systems and code maps of the FHIR mapping, read from the data files beside this module.

Every map is data with its source (`data/*.csv`), so a code is corrected where it is written and
the mapping code holds no clinical vocabulary of its own:

* `histology.csv`: registry histology → ICD-O-3 morphology/behaviour, the ICD-10-CM kidney code
  by side (malignant: C64.1 right / C64.2 left; benign: D30.01 / D30.02) and the WHO ICD-10
  code (C64 / D30.0, no side); "other" and "unknown" map to nothing (no code is invented).
* `labs.csv`: registry lab test (and creatinine unit kind, eGFR equation) → LOINC.
* `ucum.csv`: unit as reported → UCUM code (and whether a creatinine is mass or molar).
* `snomed.csv`: the SNOMED CT concepts used, by reference only (code + display, no content).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

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
}
EXT_HISTOLOGY = f"{MCODE}/mcode-histology-morphology-behavior"
EXT_LATERALITY = f"{MCODE}/mcode-laterality-qualifier"
EXT_RELATED_CONDITION = f"{MCODE}/mcode-related-condition"
EXT_PROCEDURE_INTENT = f"{MCODE}/mcode-procedure-intent"
EXT_EVIDENCE_TYPE = f"{MCODE}/mcode-cancer-disease-status-evidence-type"


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("renalpath.interop.fhir").joinpath("data", name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@dataclass(frozen=True)
class Histology:
    name: str
    malignant: bool | None
    icdo3: str
    icdo3_display: str
    icd10cm: dict[str, str]  # side -> code
    icd10cm_display: str
    icd10_who: str  # WHO ICD-10 has no side: C64 / D30.0


@cache
def histologies() -> dict[str, Histology]:
    out: dict[str, Histology] = {}
    for r in _rows("histology.csv"):
        malignant = {"true": True, "false": False}.get(r["malignant"])
        sides = {"left": r["icd10cm_left"], "right": r["icd10cm_right"]}
        out[r["histology"]] = Histology(
            r["histology"],
            malignant,
            r["icdo3_morphology"],
            r["icdo3_display"],
            {k: v for k, v in sides.items() if v},
            r["icd10cm_display"],
            r["icd10_who"],
        )
    return out


@cache
def histology_by_icdo3() -> dict[str, str]:
    return {h.icdo3: h.name for h in histologies().values() if h.icdo3}


@dataclass(frozen=True)
class LabCode:
    test: str
    unit_kind: str
    equation: str
    loinc: str
    display: str


@cache
def lab_codes() -> list[LabCode]:
    return [
        LabCode(r["test"], r["unit_kind"], r["equation"], r["loinc"], r["loinc_display"])
        for r in _rows("labs.csv")
    ]


@cache
def lab_by_loinc() -> dict[str, LabCode]:
    return {c.loinc: c for c in lab_codes()}


@cache
def ucum_units() -> dict[str, tuple[str, str]]:
    """Reported unit → (UCUM code, kind: "mass" | "molar" | "")."""
    return {r["reported"]: (r["ucum"], r["kind"]) for r in _rows("ucum.csv")}


@cache
def lab_loinc(test: str, unit: str, equation: str) -> LabCode | None:
    """The LOINC term of a registry lab row, or None when no verified term fits."""
    kind = ucum_units().get(unit, ("", ""))[1]
    for c in lab_codes():
        if c.test != test:
            continue
        if c.unit_kind and c.unit_kind != kind:
            continue
        if c.test == "egfr" and c.equation != equation:
            continue
        return c
    return None


@cache
def snomed() -> dict[str, tuple[str, str]]:
    """Key → (SNOMED CT code, display)."""
    return {r["key"]: (r["code"], r["display"]) for r in _rows("snomed.csv")}


def sct(key: str) -> dict[str, str]:
    code, display = snomed()[key]
    return {"system": SNOMED, "code": code, "display": display}
