"""FHIR import of what other mCODE senders write: the 179 examples of the HL7 mCODE STU4
package (installed with the validator) and a kidney-cancer adaptation of its patient bundle."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from renalpath.interop.fhir.importer import read_fhir, write_folder
from renalpath.registry.importer import import_folder
from tests.interop.fhir_fixtures import MCODE_EXAMPLES, validator_ready

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LATERALITY = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality-qualifier"
HISTOLOGY = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior"


@pytest.fixture(scope="module")
def examples() -> Path:
    validator_ready()
    return MCODE_EXAMPLES


def test_every_mcode_example_is_parsed_and_accounted_for(examples: Path) -> None:
    read = read_fhir(examples)
    assert read.resources >= 179  # files, plus the entries of the two Bundles
    assert read.errors == [], [n.render() for n in read.errors]
    # None of the examples is a kidney cancer: nothing is imported, every resource says why.
    assert sum(len(rows) for rows in read.rows.values()) == 0
    assert read.mapped + len(read.skipped) == read.resources
    reasons = {n.reason for n in read.skipped}
    assert any("not a kidney tumour" in r for r in reasons)
    assert any("kidney cancer patients only" in r for r in reasons)


def _kidney_bundle(examples: Path) -> dict[str, Any]:
    """The jenny-m patient bundle with her primary cancer made a left clear-cell RCC; her cT3
    cN0 cM0 are read from their SNOMED CT codes."""
    bundle = json.loads((examples / "Bundle-mcode-patient-bundle-jenny-m.json").read_text("utf-8"))
    bundle = copy.deepcopy(bundle)
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["id"] == "primary-cancer-condition-jenny-m":
            res["code"] = {"coding": [{"system": ICD10CM, "code": "C64.2"}]}
            res["bodySite"] = [
                {
                    "extension": [
                        {
                            "url": LATERALITY,
                            "valueCodeableConcept": {
                                "coding": [{"system": "http://snomed.info/sct", "code": "7771000"}]
                            },
                        }
                    ]
                }
            ]
            res["extension"] = [
                {
                    "url": HISTOLOGY,
                    "valueCodeableConcept": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/icd-o-3",
                                "code": "8310/3",
                            }
                        ]
                    },
                }
            ]
        if res["id"].startswith("tnm-clinical-") and "stage-group" not in res["id"]:
            # The example's clinical stage group lists the pathologic categories as members,
            # so nothing links these to the cancer: say which condition they stage.
            res["focus"] = [{"reference": "Condition/primary-cancer-condition-jenny-m"}]
    return bundle


def test_a_kidney_cancer_mcode_bundle_imports(
    examples: Path, tmp_path: Path, engine: Engine
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bundle.json").write_text(json.dumps(_kidney_bundle(examples)), "utf-8")
    read = read_fhir(tmp_path / "in")
    assert read.errors == [], [n.render() for n in read.errors]
    [patient] = read.rows["patients"]
    assert (patient["patient_id"], patient["sex"], patient["birth_date"]) == (
        "MRN1234",
        "female",
        "1965-01-01",
    )
    [tumour] = read.rows["tumours"]
    assert (tumour["side"], tumour["histology"], tumour["diagnosis_date"]) == (
        "left",
        "clear_cell",
        "2018-03-16",
    )
    assert (tumour["ct"], tumour["cn"], tumour["cm"]) == ("T3", "N0", "M0")
    assert read.mapped + len(read.skipped) == read.resources
    skipped = {n.resource: n.reason for n in read.skipped}
    assert "stage group" in skipped["Observation/tnm-clinical-stage-group-jenny-m"]
    assert "outside the registry" in skipped["Practitioner/us-core-practitioner-owen-oncologist"]
    write_folder(read, tmp_path / "rows")
    result = import_folder(engine, tmp_path / "rows")
    assert result.written, result.report.render()


def test_a_kidney_tumour_without_laterality_is_an_error(examples: Path, tmp_path: Path) -> None:
    bundle = _kidney_bundle(examples)
    for entry in bundle["entry"]:
        if entry["resource"]["id"] == "primary-cancer-condition-jenny-m":
            entry["resource"]["bodySite"] = []
            entry["resource"]["code"] = {"coding": [{"system": ICD10CM, "code": "C64.9"}]}
    (tmp_path / "bundle.json").write_text(json.dumps(bundle), "utf-8")
    read = read_fhir(tmp_path / "bundle.json")
    assert [n.resource for n in read.errors] == ["Condition/primary-cancer-condition-jenny-m"]
    assert "laterality" in read.errors[0].reason


def test_a_resource_type_that_is_not_a_name_is_refused_not_a_crash(tmp_path: Path) -> None:
    """`resourceType` missing in a Bundle entry, or a number or a list, used to raise inside
    the validator (KeyError, TypeError) and end the whole import with a traceback."""
    lines = [
        {"resourceType": 0, "id": "x"},
        {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": {"id": "y"}}, {"resource": {"resourceType": ["Patient"]}}],
        },
        {"resourceType": "Nonsense"},
    ]
    (tmp_path / "a.ndjson").write_text("".join(json.dumps(r) + "\n" for r in lines), "utf-8")
    read = read_fhir(tmp_path)
    assert read.resources == 4
    reasons = [n.render() for n in read.errors]
    assert len(reasons) == 4, reasons
    assert sum("resourceType missing or not a string" in r for r in reasons) == 3
    assert "unknown resource type 'Nonsense'" in reasons[3]
