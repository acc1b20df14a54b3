"""The coded records in FHIR: the mCODE codes chosen on export, the synthetic registry's export
validated with Medplum + mCODE, and what other senders' resources (the mCODE examples)
become on import — or why they are not imported."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from renalpath.interop.fhir.export import export_fhir
from renalpath.interop.fhir.importer import read_fhir, write_folder
from renalpath.registry.db import make_engine
from renalpath.registry.importer import import_folder
from renalpath.synth.writer import write_registry
from tests.interop.fhir_fixtures import MCODE_EXAMPLES, every_field_rows, validate, validator_ready
from tests.registry.registry_fixtures import write_folder as write_registry_folder

SCT = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
LATERALITY = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-laterality-qualifier"
HISTOLOGY = "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior"


@pytest.fixture(scope="module")
def resources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    base = tmp_path_factory.mktemp("coded")
    reg = write_registry_folder(base / "reg", every_field_rows())
    engine = make_engine(f"sqlite:///{base / 'a.db'}")
    assert import_folder(engine, reg).written
    export_fhir(engine, base / "nd", "fhir")
    engine.dispose()
    out: dict[str, dict[str, Any]] = {}
    for f in (base / "nd").glob("*.ndjson"):
        for line in f.read_text("utf-8").splitlines():
            res = json.loads(line)
            out[f"{res['resourceType']}/{res['id']}"] = res
    return out


def _codes(concept: dict[str, Any]) -> list[tuple[str, str]]:
    return [(cd["system"].rsplit("/", 1)[-1], cd["code"]) for cd in concept.get("coding", [])]


def test_staging_records_are_stage_groups_with_snomed_coded_categories(
    resources: dict[str, dict[str, Any]],
) -> None:
    group = resources["Observation/stg-T11.2015-04-01.p"]  # pT3a pN1 pM1, stage IV, AJCC 7
    assert group["meta"]["profile"][-1].endswith("mcode-tnm-stage-group")
    assert _codes(group["code"]) == [("sct", "399588009")]  # pathologic stage grouping
    assert _codes(group["valueCodeableConcept"]) == [("sct", "1222837003")]  # stage IV
    assert _codes(group["method"]) == [("sct", "443830009")]  # AJCC 7th edition
    members = {m["reference"] for m in group["hasMember"]}
    t = resources["Observation/stt-T11.2015-04-01.p"]
    assert "Observation/stt-T11.2015-04-01.p" in members
    assert _codes(t["valueCodeableConcept"]) == [("sct", "1229860005")]  # pT3a
    assert t["valueCodeableConcept"]["text"] == "pT3a"
    # y-prefixed categories have no SNOMED CT concept held: text only, and a note on the group
    yc = resources["Observation/stt-T10.2016-01-05.yc"]
    assert yc["valueCodeableConcept"] == {"text": "ycT2a"}
    # a tumour's own cT also gets its SNOMED CT code now
    assert _codes(resources["Observation/ct-T1"]["valueCodeableConcept"]) == [("sct", "1228892002")]


def test_performance_status_observations(resources: dict[str, dict[str, Any]]) -> None:
    ecog = resources["Observation/ecog-P4.2018-06-02"]
    assert _codes(ecog["code"]) == [("loinc.org", "89247-1")] and ecog["valueInteger"] == 5
    kps = resources["Observation/karnofsky-P4.2018-03-02"]
    assert _codes(kps["code"]) == [("loinc.org", "89243-0")] and kps["valueInteger"] == 60
    assert "extension" not in kps  # the row rides on the ECOG observation of that day


def test_disease_status_metastasis_medication_and_radiotherapy(
    resources: dict[str, dict[str, Any]],
) -> None:
    status = resources["Observation/ds-P4.T10.2019-02-03"]
    assert _codes(status["valueCodeableConcept"]) == [("sct", "359746009")]  # stable
    assert status["focus"] == [{"reference": "Condition/t-T10"}]
    evidence = status["extension"][0]
    assert evidence["url"].endswith("evidence-type") and _codes(
        evidence["valueCodeableConcept"]
    ) == [("sct", "714797009")]  # histologic test

    met = resources["Condition/met-P3.2017-02-01.bone"]
    assert met["meta"]["profile"][-1].endswith("mcode-secondary-cancer-condition")
    assert _codes(met["code"]) == [("sct", "128462008")]
    assert _codes(met["bodySite"][0]) == [("sct", "119186007")]
    assert met["extension"][0]["valueReference"] == {"reference": "Condition/t-T11"}

    nivo = resources["MedicationRequest/med-P4.nivolumab.2019-01-07"]
    assert _codes(nivo["medicationCodeableConcept"])[:2] == [
        ("rxnorm", "1597876"),
        ("atc", "L01FF01"),
    ]
    assert nivo["dosageInstruction"][0]["timing"]["repeat"]["boundsPeriod"] == {
        "start": "2019-01-07",
        "end": "2020-06-30",
    }
    belz = next(v for k, v in resources.items() if k.startswith("MedicationRequest/med-P4.belz"))
    # belzutifan: no ATC or RxNorm code could be verified, so only the registry's own
    assert _codes(belz["medicationCodeableConcept"]) == [("agent", "belzutifan")]

    course = resources["Procedure/rt-P4.2018-01-05.kidney"]
    dose = next(e for e in course["extension"] if e["url"].endswith("dose-delivered-to-volume"))
    values = {e["url"]: e for e in dose["extension"]}
    assert values["totalDoseDelivered"]["valueQuantity"]["value"] == 3000  # 30 Gy in cGy
    assert values["fractionsDelivered"]["valueUnsignedInt"] == 10
    assert _codes(course["code"]) == [("sct", "1217123003")]


def test_who_2022_histologies_carry_icd_o_3(resources: dict[str, dict[str, Any]]) -> None:
    conditions = [r for r in resources.values() if r["resourceType"] == "Condition"]
    morph = {
        cd["code"]
        for r in conditions
        for e in r.get("extension", [])
        if e["url"] == HISTOLOGY
        for cd in e["valueCodeableConcept"]["coding"]
    }
    assert {"8323/1", "8319/3", "8311/3", "8510/3", "8480/3", "8316/3", "8312/3"} <= morph


def test_the_synthetic_registry_export_validates(tmp_path: Path) -> None:
    """Every coded file of a synthetic registry, exported and validated (Medplum + mCODE)."""
    validator_ready()
    write_registry(tmp_path / "reg", 80, seed=3)
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    assert import_folder(engine, tmp_path / "reg").written
    export_fhir(engine, tmp_path / "nd", "fhir")
    engine.dispose()
    kinds = {p.stem for p in (tmp_path / "nd").glob("*.ndjson")}
    assert {"MedicationRequest", "Procedure", "Condition", "Observation"} <= kinds
    report = validate(*(tmp_path / "nd").glob("*.ndjson"))
    errors = [i for i in report["issues"] if i["severity"] in ("error", "fatal")]
    assert errors == [], json.dumps(errors[:10], indent=1)


# ------------------------------------------------------------------ other senders' FHIR


@pytest.fixture(scope="module")
def examples() -> Path:
    validator_ready()
    return MCODE_EXAMPLES


def _example(examples: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((examples / name).read_text("utf-8"))
    return data


def _kidney_patient(pid: str) -> list[dict[str, Any]]:
    """A patient with a left clear-cell kidney cancer, for the examples that refer to `pid`."""
    return [
        {
            "resourceType": "Patient",
            "id": pid,
            "gender": "male",
            "birthDate": "1950-01-01",
            "identifier": [{"value": pid}],
        },
        {
            "resourceType": "Condition",
            "id": f"{pid}-rcc",
            "subject": {"reference": f"Patient/{pid}"},
            "code": {"coding": [{"system": ICD10CM, "code": "C64.2"}]},
            "onsetDateTime": "2019-01-02",
            "extension": [
                {
                    "url": HISTOLOGY,
                    "valueCodeableConcept": {"coding": [{"system": ICDO3, "code": "8310/3"}]},
                }
            ],
        },
    ]


def _read(folder: Path, resources: list[dict[str, Any]]) -> Any:
    folder.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(r) + "\n" for r in resources)
    (folder / "in.ndjson").write_text(lines, "utf-8")
    return read_fhir(folder)


def test_mcode_ecog_karnofsky_tnm_and_size_examples_import_or_say_why(
    examples: Path, tmp_path: Path, engine: Engine
) -> None:
    names = [
        "Observation-ecog-performance-status-fully-active.json",
        "Observation-karnofsky-performance-status-normal-activity.json",
        "Observation-tnm-clinical-primary-tumor-category-cT3.json",
        "Observation-tumor-size-jenny-m.json",
        "Observation-tumor-size-pathology.json",
    ]
    found = [_example(examples, n) for n in names]
    pid = found[0]["subject"]["reference"].split("/")[1]  # john-anyperson
    for res in found:
        if res["subject"]["reference"] != f"Patient/{pid}":
            res["subject"] = {"reference": f"Patient/{pid}"}
    read = _read(tmp_path / "in", [*_kidney_patient(pid), *found])
    assert read.errors == [], [n.render() for n in read.errors]
    assert read.mapped + len(read.skipped) == read.resources
    # ECOG 0 and Karnofsky 90 of the same day: one performance row
    assert read.rows["performance"] == [
        {"patient_id": pid, "date": "2019-04-01", "ecog": "0", "karnofsky": "90"}
    ]
    skipped = {n.resource.split("/")[1]: n.reason for n in read.skipped}
    assert "condition not imported" in skipped["tnm-clinical-primary-tumor-category-cT3"]
    assert "tumour size" in skipped["tumor-size-jenny-m"]
    assert "tumour size" in skipped["tumor-size-pathology"]
    write_folder(read, tmp_path / "rows")
    assert import_folder(engine, tmp_path / "rows").written


def test_a_cT3_coded_only_by_snomed_is_read(examples: Path, tmp_path: Path) -> None:
    ct3 = _example(examples, "Observation-tnm-clinical-primary-tumor-category-cT3.json")
    pid = ct3["subject"]["reference"].split("/")[1]
    ct3["focus"] = [{"reference": f"Condition/{pid}-rcc"}]
    assert "text" not in ct3["valueCodeableConcept"]
    ct3["valueCodeableConcept"]["coding"][0].pop("display")  # the code alone is enough
    read = _read(tmp_path / "in", [*_kidney_patient(pid), ct3])
    assert read.errors == [] and read.rows["tumours"][0]["ct"] == "T3"


def test_medications_secondary_conditions_and_disease_status_of_other_senders(
    tmp_path: Path,
) -> None:
    pid = "x1"
    subject = {"reference": f"Patient/{pid}"}
    foreign = [
        {
            "resourceType": "MedicationRequest",
            "id": "m1",
            "status": "active",
            "intent": "order",
            "subject": subject,
            "authoredOn": "2020-02-01",
            "medicationCodeableConcept": {
                "coding": [
                    {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1597876"}
                ]
            },
            "reasonReference": [{"reference": f"Condition/{pid}-rcc"}],
        },
        {
            "resourceType": "MedicationRequest",
            "id": "m2",
            "status": "active",
            "intent": "order",
            "subject": subject,
            "authoredOn": "2020-02-01",
            "medicationCodeableConcept": {
                "coding": [
                    {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "3002"}
                ]
            },
        },
        {
            "resourceType": "MedicationAdministration",
            "id": "a1",
            "status": "completed",
            "subject": subject,
            "effectiveDateTime": "2020-02-01",
            "medicationCodeableConcept": {
                "coding": [{"system": "http://www.whocc.no/atc", "code": "L01FF01"}]
            },
        },
        {
            "resourceType": "Condition",
            "id": "s1",
            "subject": subject,
            "meta": {
                "profile": [
                    "http://hl7.org/fhir/us/mcode/StructureDefinition/"
                    "mcode-secondary-cancer-condition"
                ]
            },
            "code": {"coding": [{"system": SCT, "code": "128462008"}]},
            "bodySite": [{"coding": [{"system": SCT, "code": "39607008"}]}],
            "onsetDateTime": "2020-01-20",
            "extension": [
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/condition-related",
                    "valueReference": {"reference": f"Condition/{pid}-rcc"},
                }
            ],
        },
        {
            "resourceType": "Condition",
            "id": "s2",
            "subject": subject,
            "code": {"coding": [{"system": SCT, "code": "128462008"}]},
            "onsetDateTime": "2020-01-20",
        },
        {
            "resourceType": "Observation",
            "id": "d1",
            "status": "final",
            "subject": subject,
            "code": {"coding": [{"system": "http://loinc.org", "code": "97509-4"}]},
            "focus": [{"reference": f"Condition/{pid}-rcc"}],
            "effectiveDateTime": "2020-03-01",
            "valueCodeableConcept": {"coding": [{"system": SCT, "code": "271299001"}]},
        },
    ]
    read = _read(tmp_path / "in", [*_kidney_patient(pid), *foreign])
    assert read.errors == [], [n.render() for n in read.errors]
    [course] = read.rows["systemic_therapy"]
    assert (course["agent"], course["start_date"], course["tumour_id"]) == (
        "nivolumab",
        "2020-02-01",
        f"{pid}-rcc",
    )
    [met] = read.rows["metastases"]
    assert (met["site"], met["date"], met["tumour_id"]) == ("lung", "2020-01-20", f"{pid}-rcc")
    [status] = read.rows["disease_status"]
    assert (status["status"], status["tumour_id"]) == ("worsened", f"{pid}-rcc")
    skipped = {n.resource: n.reason for n in read.skipped}
    assert "not an agent" in skipped["MedicationRequest/m2"]
    assert "single administration" in skipped["MedicationAdministration/a1"]
    assert "body site" in skipped["Condition/s2"]


def test_an_icd_o_3_code_of_several_subtypes_is_an_error(tmp_path: Path) -> None:
    patient, condition = _kidney_patient("y1")
    condition["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] = "8311/3"
    read = _read(tmp_path / "in", [patient, condition])
    [error] = read.errors
    assert "8311/3" in error.reason and "fh_deficient" in error.reason


def test_the_kidney_bundle_brings_its_ecog_and_disease_status(
    examples: Path, tmp_path: Path
) -> None:
    bundle = copy.deepcopy(_example(examples, "Bundle-mcode-patient-bundle-jenny-m.json"))
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["id"] == "primary-cancer-condition-jenny-m":
            res["code"] = {"coding": [{"system": ICD10CM, "code": "C64.2"}]}
            res["extension"] = []
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "b.json").write_text(json.dumps(bundle), "utf-8")
    read = read_fhir(tmp_path / "in")
    assert read.errors == [], [n.render() for n in read.errors]
    assert len(read.rows["performance"]) == 1 and read.rows["performance"][0]["ecog"]
    [status] = read.rows["disease_status"]
    assert (status["status"], status["evidence"]) == ("improved", "imaging")
    skipped = {n.resource: n.reason for n in read.skipped}
    assert (
        "not an agent"
        in skipped["MedicationRequest/cancer-related-medication-request-paclitaxel-jenny-m"]
    )
    assert "radiotherapy" in skipped["Procedure/radiotherapy-treatment-summary-chest-wall-jenny-m"]
