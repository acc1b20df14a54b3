"""FHIR REST reads: CapabilityStatement, Patient $everything, search by patient; roles and the
audit trail as for the patient record."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient

from .conftest import bearer
from .registry_support import reg_client, registry_db  # noqa: F401  (fixtures)


def _first_patient(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return str(conn.execute("select min(patient_id) from patients").fetchone()[0])


def _reads(db: Path, pid: str) -> int:
    with sqlite3.connect(db) as conn:
        q = "select count(*) from audit_log where action='read' and entity_id=?"
        return int(conn.execute(q, (pid,)).fetchone()[0])


def test_metadata_lists_the_mcode_profiles(reg_client: TestClient) -> None:  # noqa: F811
    got = reg_client.get("/api/v1/fhir/metadata", headers=bearer("cleo"))
    assert got.status_code == 200 and got.headers["content-type"].startswith(
        "application/fhir+json"
    )
    doc = got.json()
    assert doc["resourceType"] == "CapabilityStatement" and doc["fhirVersion"] == "4.0.1"
    types = {r["type"]: r for r in doc["rest"][0]["resource"]}
    assert types["Patient"]["supportedProfile"] == [
        "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-cancer-patient"
    ]


def test_everything_and_search_are_audited_reads(reg_client: TestClient, registry_db: Path) -> None:  # noqa: F811
    pid = _first_patient(registry_db)
    before = _reads(registry_db, pid)
    got = reg_client.get(f"/api/v1/fhir/Patient/p-{pid}/$everything", headers=bearer("cleo"))
    assert got.status_code == 200, got.text
    bundle = got.json()
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds[0] == "Patient" and "Condition" in kinds and bundle["total"] == len(kinds)
    found = reg_client.get(
        f"/api/v1/fhir/Condition?patient=Patient/p-{pid}", headers=bearer("cleo")
    )
    assert {e["resource"]["resourceType"] for e in found.json()["entry"]} == {"Condition"}
    assert _reads(registry_db, pid) == before + 2


def test_roles_and_unknowns(reg_client: TestClient, registry_db: Path) -> None:  # noqa: F811
    pid = _first_patient(registry_db)
    url = f"/api/v1/fhir/Patient/p-{pid}/$everything"
    assert reg_client.get(url, headers=bearer("rhea")).status_code == 403
    assert reg_client.get(url).status_code == 401
    assert (
        reg_client.get(
            "/api/v1/fhir/Patient/p-NOPE/$everything", headers=bearer("cleo")
        ).status_code
        == 404
    )
    assert (
        reg_client.get(
            f"/api/v1/fhir/Medication?patient=p-{pid}", headers=bearer("cleo")
        ).status_code
        == 404
    )


def test_capability_statement_covers_what_the_export_writes(
    reg_client: TestClient,  # noqa: F811
    registry_db: Path,  # noqa: F811
) -> None:
    """Every resource type and profile in patients' exported resources is declared, and each
    declared type can be searched."""
    doc = reg_client.get("/api/v1/fhir/metadata", headers=bearer("cleo")).json()
    declared = {r["type"]: set(r["supportedProfile"]) for r in doc["rest"][0]["resource"]}
    with sqlite3.connect(registry_db) as conn:
        ids = [r[0] for r in conn.execute("select patient_id from patients order by 1 limit 25")]
    seen: set[str] = set()
    for pid in ids:
        bundle = reg_client.get(
            f"/api/v1/fhir/Patient/p-{pid}/$everything", headers=bearer("cleo")
        ).json()
        for entry in bundle["entry"]:
            res = entry["resource"]
            seen.add(res["resourceType"])
            assert res["resourceType"] in declared, res["resourceType"]
            assert set(res.get("meta", {}).get("profile", [])) <= declared[res["resourceType"]]
    assert seen <= set(declared)
    for kind in declared:
        got = reg_client.get(f"/api/v1/fhir/{kind}?patient=p-{ids[0]}", headers=bearer("cleo"))
        assert got.status_code == 200, (kind, got.text)
