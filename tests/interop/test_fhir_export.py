"""FHIR R4 / mCODE STU4 export: profile validation (Medplum + mCODE), parsing with
fhir.resources, the codes chosen, de-identification, and the round trip through FHIR."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from renalpath.interop.fhir.export import export_fhir
from renalpath.interop.fhir.importer import read_fhir
from renalpath.interop.fhir.importer import write_folder as write_folder_fhir
from renalpath.registry.db import make_engine
from renalpath.registry.deidentify import Pseudonymiser
from renalpath.registry.dictionary import FILES
from renalpath.registry.exporter import export_folder
from renalpath.registry.importer import import_folder
from tests.conftest import run_cli
from tests.interop.fhir_fixtures import every_field_rows, validate
from tests.registry.registry_fixtures import write_folder

KEY = b"fhir-test-key-0123456789abcdef"
ORIGINAL_IDS = ("P1", "P2", "P3", "P4", "P5_with/odd id", "I1", "I20", "I21")  # not TNM-like


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The every-field registry loaded into SQLite and exported in each format (in process;
    the command line itself is exercised once, in the CLI round-trip test)."""
    base = tmp_path_factory.mktemp("fhir")
    reg = write_folder(base / "reg", every_field_rows())
    engine = make_engine(f"sqlite:///{base / 'a.db'}")
    assert import_folder(engine, reg).written
    export_folder(engine, base / "csv")
    export_fhir(engine, base / "ndjson", "fhir")
    export_fhir(engine, base / "bundles", "fhir-bundle")
    export_fhir(engine, base / "deid", "fhir", deidentify_key=KEY)
    engine.dispose()
    return {
        "reg": reg,
        "db": base / "a.db",
        **{n: base / n for n in ("csv", "ndjson", "bundles", "deid")},
    }


def _resources(folder: Path) -> list[dict[str, Any]]:
    res: list[dict[str, Any]] = []
    for f in sorted(folder.glob("*.ndjson")):
        res += [json.loads(line) for line in f.read_text("utf-8").splitlines()]
    return res


def _by_id(folder: Path) -> dict[str, dict[str, Any]]:
    return {f"{r['resourceType']}/{r['id']}": r for r in _resources(folder)}


def test_fixture_uses_every_column_and_enumeration_value() -> None:
    rows = every_field_rows()
    used: dict[tuple[str, ...], set[str]] = {}  # each enumeration, over all its columns
    for name, spec in FILES.items():
        for col in spec.columns:
            values = {r.get(col.name, "") for r in rows[name]}
            assert values - {""}, f"{name}.{col.name} never filled"
            if col.enum:
                used.setdefault(col.enum, set()).update(v.removesuffix("-d") for v in values)
    for enum, values in used.items():
        assert set(enum) <= values, f"{enum}: {set(enum) - values} never used"


def test_every_exported_resource_validates_without_errors(exported: dict[str, Path]) -> None:
    files = [
        *exported["ndjson"].glob("*.ndjson"),
        *exported["bundles"].glob("*.json"),
        *exported["deid"].glob("*.ndjson"),
    ]
    report = validate(*files)
    errors = [i for i in report["issues"] if i["severity"] in ("error", "fatal")]
    assert report["resources"] > 250
    assert errors == [], json.dumps(errors[:10], indent=1)
    warnings = [i for i in report["issues"] if i["severity"] == "warning"]
    print(f"validator warnings: {len(warnings)}", json.dumps(warnings[:20], indent=1))
    print("validator limitations:", report["limitations"])


def test_the_validator_reports_profile_violations(tmp_path: Path) -> None:
    """Negative control: the validator is not silently passing everything."""
    bad = [
        {
            "resourceType": "Patient",
            "id": "x",
            "meta": {
                "profile": ["http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-patient"]
            },
        },
        {
            "resourceType": "Observation",
            "id": "y",
            "status": "final",
            "meta": {
                "profile": [
                    "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-tnm-primary-tumor-category"
                ]
            },
            "code": {"text": "T"},
            "subject": {"reference": "Patient/x"},
        },
        {
            "resourceType": "Condition",
            "id": "z",
            "subject": {"reference": "Patient/x"},
            "onsetDateTime": "2020-13-45",
        },
    ]
    path = tmp_path / "bad.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in bad), "utf-8")
    report = validate(path)
    wrong = {(i["id"], i["expression"]) for i in report["issues"] if i["severity"] == "error"}
    assert ("x", "Patient.gender") in wrong and ("x", "Patient.identifier") in wrong
    assert ("y", "Observation.method") in wrong and ("y", "Observation.category") in wrong
    assert ("z", "Condition.onset[x]") in wrong or ("z", "Condition.onsetDateTime") in wrong


def test_every_exported_resource_parses_with_fhir_resources(exported: dict[str, Path]) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    resources = _resources(exported["ndjson"]) + [
        json.loads(p.read_text("utf-8")) for p in exported["bundles"].glob("*.json")
    ]
    for res in resources:
        get_fhir_model_class(res["resourceType"]).model_validate(res)


def test_codes_follow_the_data_maps(exported: dict[str, Path]) -> None:
    res = _by_id(exported["ndjson"])
    t1 = res["Condition/t-T1"]  # clear cell, left
    assert t1["meta"]["profile"][-1].endswith("mcode-primary-cancer-condition")
    assert [(cd["system"].rsplit("/", 1)[-1], cd["code"]) for cd in t1["code"]["coding"]] == [
        ("icd-10-cm", "C64.2"),
        ("icd-10", "C64"),
        ("sct", "93849006"),  # SNOMED CT primary malignant neoplasm of kidney
    ]
    hist = t1["extension"][0]["valueCodeableConcept"]["coding"][0]
    assert (hist["system"], hist["code"]) == (
        "http://terminology.hl7.org/CodeSystem/icd-o-3",
        "8310/3",
    )
    side = t1["bodySite"][0]["extension"][0]["valueCodeableConcept"]["coding"][0]["code"]
    assert side == "7771000"  # SNOMED CT Left (mCODE laterality value set)
    # Benign histology: no mCODE cancer profile, benign kidney code.
    onco = next(
        r
        for r in res.values()
        if r.get("resourceType") == "Condition"
        and any(
            cd.get("code") == "8290/0"
            for e in r.get("extension", [])
            for cd in e.get("valueCodeableConcept", {}).get("coding", [])
        )
    )
    assert onco["code"]["coding"][0]["code"] in ("D30.01", "D30.02")
    assert "meta" not in onco or "profile" not in onco["meta"]

    labs = [
        r
        for r in res.values()
        if r["resourceType"] == "Observation"
        and r.get("category", [{}])[0].get("coding", [{}])[0].get("code") == "laboratory"
        and r["code"]["coding"][0]["system"] == "http://loinc.org"
    ]
    loinc = {(r["code"]["coding"][0]["code"], r["valueQuantity"].get("code")) for r in labs}
    assert ("2160-0", "mg/dL") in loinc  # creatinine, mass
    assert ("14682-9", "umol/L") in loinc  # creatinine, molar (µmol/L reported)
    assert ("98979-8", "mL/min/{1.73_m2}") in loinc  # eGFR CKD-EPI 2021
    assert ("33914-3", "mL/min/{1.73_m2}") in loinc  # eGFR MDRD
    # An eGFR of an unnamed equation gets no equation-specific LOINC code.
    other = [
        r
        for r in res.values()
        if r["resourceType"] == "Observation"
        and r["code"].get("text") == "egfr"
        and r["code"]["coding"][0]["system"] != "http://loinc.org"
    ]
    assert len(other) == 1

    # Salvage lineage: partOf the earlier operation, reason the tumour treated.
    i21 = res["Procedure/i-I21"]
    assert i21["partOf"] == [{"reference": "Procedure/i-I20"}]
    assert i21["reasonReference"] == [{"reference": "Condition/t-T13"}]
    assert i21["meta"]["profile"][-1].endswith("mcode-cancer-related-surgical-procedure")
    # Clinical stage group derived from T1a N0 M0: AJCC 8 stage I.
    stage = res["Observation/cstage-T1"]
    assert stage["valueCodeableConcept"]["text"] == "Stage I"
    assert {m["reference"] for m in stage["hasMember"]} == {
        "Observation/ct-T1",
        "Observation/cn-T1",
        "Observation/cm-T1",
    }
    # Local recurrence and distant metastasis of a tumour: CancerDiseaseStatus "worsened".
    status = [
        r
        for r in res.values()
        if r["resourceType"] == "Observation"
        and r["code"]["coding"][0].get("code") == "97509-4"
        and r["id"].startswith("ev-")  # the events' (disease_status rows have their own)
    ]
    assert sorted(r["valueCodeableConcept"]["text"] for r in status) == [
        "distant_metastasis",
        "local_recurrence",
    ]
    assert {r["valueCodeableConcept"]["coding"][0]["code"] for r in status} == {"271299001"}
    # An id FHIR does not allow is hashed; the registry id stays in the identifier.
    odd = next(
        r
        for r in res.values()
        if r["resourceType"] == "Patient" and r["identifier"][0]["value"] == "P5_with/odd id"
    )
    assert odd["id"].startswith("p-h")


def test_ndjson_manifest_counts_lines(exported: dict[str, Path]) -> None:
    manifest = json.loads((exported["ndjson"] / "manifest.json").read_text("utf-8"))
    for out in manifest["output"]:
        lines = (exported["ndjson"] / out["url"]).read_text("utf-8").splitlines()
        assert len(lines) == out["count"] and out["type"] == json.loads(lines[0])["resourceType"]


def test_deidentified_fhir_has_no_original_ids_dates_or_free_text(
    exported: dict[str, Path],
) -> None:
    text = "".join(p.read_text("utf-8") for p in exported["deid"].glob("*.ndjson"))
    for original in ORIGINAL_IDS:
        assert f'"{original}"' not in text and f'-{original}"' not in text
    assert "lung, 3 nodules" not in text and "free text" not in text
    # Each patient is there under its keyed pseudonym, every date moved back by its offset.
    pseud = Pseudonymiser(KEY)
    patients = {
        r["identifier"][0]["value"]: r
        for r in _resources(exported["deid"])
        if r["resourceType"] == "Patient"
    }
    for row in every_field_rows()["patients"]:
        res = patients[pseud.pseudonym("patients.patient_id", row["patient_id"])]
        back = dt.timedelta(days=pseud.shift_days(row["patient_id"]))
        assert 1 <= back.days <= 364
        assert res["birthDate"] == (dt.date.fromisoformat(row["birth_date"]) - back).isoformat()
        assert "name" not in res or all("family" not in n for n in res["name"])


def _same_csv(a: Path, b: Path) -> None:
    for spec in FILES.values():
        original = (a / spec.filename).read_text("utf-8")
        again = (b / spec.filename).read_text("utf-8")
        assert sorted(again.splitlines()) == sorted(original.splitlines()), spec.filename


@pytest.mark.parametrize("fmt", ["ndjson", "bundles"])
def test_round_trip_registry_fhir_registry_gives_the_same_csv(
    exported: dict[str, Path], fmt: str, db: tuple[Engine, str], tmp_path: Path
) -> None:
    engine, _ = db
    read = read_fhir(exported[fmt])
    assert read.errors == [] and read.skipped  # derived resources are reported, not dropped
    assert read.mapped + len(read.skipped) == read.resources
    write_folder_fhir(read, tmp_path / "rows")
    assert import_folder(engine, tmp_path / "rows").written
    export_folder(engine, tmp_path / "again")
    _same_csv(exported["csv"], tmp_path / "again")


def test_cli_round_trip_and_refusal(exported: dict[str, Path], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'b.db'}"
    done = run_cli(
        "export", str(tmp_path / "nd"), "--format", "fhir", "--db", f"sqlite:///{exported['db']}"
    )
    assert done.returncode == 0 and "Patient: 5 resources" in done.stdout, done.stderr
    done = run_cli("import", str(tmp_path / "nd"), "--format", "fhir", "--db", url)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "not imported: " in done.stderr and "stage group" in done.stderr
    engine = make_engine(url)
    export_folder(engine, tmp_path / "again")
    engine.dispose()
    _same_csv(exported["csv"], tmp_path / "again")


def test_a_broken_resource_is_an_error_naming_file_and_line(
    exported: dict[str, Path], tmp_path: Path
) -> None:
    shutil.copytree(exported["ndjson"], tmp_path / "nd")
    with (tmp_path / "nd" / "Observation.ndjson").open("a", encoding="utf-8") as fh:
        fh.write('{"resourceType": "Observation", "status": "bogus"\n')
        bad_date = {
            "resourceType": "Observation",
            "id": "o1",
            "status": "final",
            "code": {"text": "x"},
            "effectiveDateTime": "2020-13-01",
        }
        fh.write(json.dumps(bad_date) + "\n")
    read = read_fhir(tmp_path / "nd")
    lines = len((exported["ndjson"] / "Observation.ndjson").read_text("utf-8").splitlines())
    assert [n.render().split(": ")[0] for n in read.errors] == [
        f"Observation.ndjson:{lines + 1}",
        f"Observation.ndjson:{lines + 2}",
    ]
    assert "not JSON" in read.errors[0].reason and "not valid FHIR" in read.errors[1].reason


def test_a_registry_row_contradicting_its_resource_is_an_error(
    exported: dict[str, Path], tmp_path: Path
) -> None:
    (tmp_path / "nd").mkdir()
    lines = (exported["ndjson"] / "Patient.ndjson").read_text("utf-8").splitlines()
    first = json.loads(lines[0])
    first["gender"] = "female" if first["gender"] == "male" else "male"
    (tmp_path / "nd" / "Patient.ndjson").write_text(json.dumps(first) + "\n", "utf-8")
    read = read_fhir(tmp_path / "nd")
    assert len(read.errors) == 1 and "gender" in read.errors[0].reason


def test_a_long_list_of_skipped_resources_is_counted_not_printed_one_by_one(
    exported: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A re-import of a large export skips a million derived resources: the report lists the
    first ones and counts every one by reason, on screen and in --json."""
    from renalpath.cli import fhir_hook

    read = read_fhir(exported["ndjson"])
    total = len(read.skipped)
    assert total > 3
    report = read.to_dict(listed=2)
    assert len(report["skipped"]) == 2 and report["skipped_total"] == total
    assert sum(report["skipped_by_reason"].values()) == total  # every one accounted for
    assert report["errors"] == [] and report["errors_total"] == 0

    monkeypatch.setattr(fhir_hook, "LISTED_ON_SCREEN", 3)
    url = f"sqlite:///{tmp_path / 'b.db'}"
    done = run_cli("import", str(exported["ndjson"]), "--format", "fhir", "--db", url)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    one_by_one = [line for line in lines if line.startswith("not imported: ") and "×" not in line]
    assert len(one_by_one) == 3 + 1  # three listed, then the "N more, by reason" line
    assert f"not imported: {total - 3} more, by reason:" in lines
    counted = [line for line in lines if line.startswith("  ") and " × " in line]
    assert sum(int(line.split(" × ")[0]) for line in counted) == total - 3
