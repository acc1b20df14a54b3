"""One-record create / correct / delete (registry.records): the import's validation, the
import's audit shapes and derived values, no cascade, nothing half-saved — on both databases.

Expected values come from the importer itself (the reference implementation): a row the
importer refuses must be refused here with the same reasons, and a record edited here must
leave the same derived eGFR and salvage lineage as importing the edited folder afresh.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from renalpath.registry import audit
from renalpath.registry.db import make_engine, upgrade
from renalpath.registry.importer import import_folder
from renalpath.registry.models import AuditLog, Intervention, Lab, Pathology, Tumour
from renalpath.registry.records import (
    NewRecord,
    RecordConflict,
    RecordNotFound,
    RecordRefused,
    create_record,
    create_records,
    delete_record,
    read_record,
    update_record,
)
from tests.registry.registry_fixtures import Rows, base_rows, write_folder

ACTOR = "web:cleo"


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path) -> Engine:
    result = import_folder(engine, write_folder(tmp_path / "base", base_rows()), actor="setup")
    assert result.written, result.report.render()
    return engine


def _audit_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(AuditLog)).scalar_one())


def _lab_id(engine: Engine, patient: str, date: str, test: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(Lab.id).where(
                    Lab.patient_id == patient,
                    Lab.test == test,
                    func.cast(Lab.date, Lab.date.type)
                    == __import__("datetime").date.fromisoformat(date),
                )
            ).scalar_one()
        )


def _import_errors(
    engine: Engine, tmp_path: Path, name: str, row: dict[str, str]
) -> set[tuple[str | None, str]]:
    """(column, reason) of every error the importer reports for a folder holding `row`."""
    result = import_folder(engine, write_folder(tmp_path / "bad", {name: [row]}), actor="x")
    assert not result.written
    return {(i.column, i.reason) for i in result.report.errors}


# Rows the importer refuses, each for a different rule (parse, range, reference, dates,
# kidney-specific units, ownership).
BAD_ROWS = [
    ("patients", {"patient_id": "P9", "sex": "Male", "birth_date": "1950-02-30"}),
    (
        "tumours",
        {
            "tumour_id": "T9",
            "patient_id": "NOPE",
            "side": "left",
            "diagnosis_date": "2019-01-01",
            "ct": "t1a",
        },
    ),
    (
        "tumours",
        {"tumour_id": "T9", "patient_id": "P1", "side": "left", "diagnosis_date": "1940-01-01"},
    ),
    (
        "interventions",
        {
            "intervention_id": "I9",
            "patient_id": "P2",
            "tumour_id": "T1",
            "date": "2023-01-01",
            "type": "cryoablation",
            "warm_ischemia_min": "999",
        },
    ),
    (
        "interventions",
        {
            "intervention_id": "I9",
            "patient_id": "P1",
            "date": "2019-01-01",
            "type": "partial_nephrectomy",
            "parent_intervention_id": "I2",
        },
    ),
    ("pathology", {"intervention_id": "I404", "isup_grade": "2.5"}),
    (
        "labs",
        {
            "patient_id": "P1",
            "date": "2020-01-01",
            "test": "creatinine",
            "value": "120",
            "unit": "mg/dL",
        },
    ),
    (
        "labs",
        {
            "patient_id": "P2",
            "date": "2023-01-01",
            "test": "egfr",
            "value": "x",
            "unit": "mL/min/1.73m2",
        },
    ),
    (
        "events",
        {"patient_id": "P2", "tumour_id": "T1", "date": "2999-01-01", "type": "local_recurrence"},
    ),
    ("imaging", {"tumour_id": "T1", "date": "2019-01-01", "size_mm": "500"}),
]


@pytest.mark.parametrize(
    ("name", "row"), BAD_ROWS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD_ROWS)]
)
def test_refused_like_import_with_the_same_reasons(
    loaded: Engine, tmp_path: Path, name: str, row: dict[str, str]
) -> None:
    expected = _import_errors(loaded, tmp_path, name, row)
    assert expected  # the importer does refuse it
    before = _audit_count(loaded)
    with pytest.raises(RecordRefused) as err:
        create_record(loaded, name, row, ACTOR)
    assert {(i.column, i.reason) for i in err.value.errors} == expected
    assert _audit_count(loaded) == before


def test_create_writes_the_importers_audit_insert(loaded: Engine, tmp_path: Path) -> None:
    row = {
        "tumour_id": "T7",
        "patient_id": "P1",
        "side": "right ",
        "diagnosis_date": "2020-03-04",
        "ct": "T1b",
    }
    res = create_record(loaded, "tumours", row, ACTOR, reason="new lesion")
    assert (res.entity_id, res.locator) == ("T7", "T7")
    assert res.cells["side"] == "right" and res.cells["histology"] == ""
    latest = next(audit.log_rows(loaded))
    assert (latest["action"], latest["entity"], latest["entity_id"]) == ("insert", "tumours", "T7")
    assert (latest["actor"], latest["reason"]) == (ACTOR, "new lesion")
    assert json.loads(str(latest["new"])) == {
        **dict.fromkeys(res.cells),
        **{
            "tumour_id": "T7",
            "patient_id": "P1",
            "side": "right",
            "diagnosis_date": "2020-03-04",
            "ct": "T1b",
        },
    }
    # the same row imported into a fresh database gives the same audit record
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    rows = base_rows()
    rows["tumours"].append(row)
    import_folder(other, write_folder(tmp_path / "with_t7", rows), actor="x")
    imported = next(audit.log_rows(other, entity="tumours", entity_id="T7"))
    assert imported["new"] == latest["new"]
    assert audit.verify(loaded).ok


def test_duplicate_key_is_a_conflict(loaded: Engine) -> None:
    with pytest.raises(RecordConflict, match="already exists"):
        create_record(
            loaded,
            "tumours",
            {"tumour_id": "T1", "patient_id": "P1", "side": "left", "diagnosis_date": "2018-01-10"},
            ACTOR,
        )
    lab = {
        "patient_id": "P1",
        "date": "2018-01-20",
        "test": "creatinine",
        "value": "1.0",
        "unit": "mg/dL",
    }
    with pytest.raises(RecordConflict, match=re.escape("P1|2018-01-20|creatinine")):
        create_record(loaded, "labs", lab, ACTOR)


def test_new_lab_gets_the_egfr_import_would_give(loaded: Engine, tmp_path: Path) -> None:
    lab = {
        "patient_id": "P1",
        "date": "2021-05-05",
        "test": "creatinine",
        "value": "97",
        "unit": "µmol/L",
    }
    res = create_record(loaded, "labs", lab, ACTOR)
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other)
    rows = base_rows()
    rows["labs"].append(lab)
    import_folder(other, write_folder(tmp_path / "with_lab", rows), actor="x")
    with other.connect() as conn:
        expected = conn.execute(select(Lab.egfr, Lab.egfr_equation).where(Lab.value == 97.0)).one()
    assert res.derived["egfr"] == pytest.approx(expected[0], rel=1e-12)
    assert res.derived["egfr_equation"] == expected[1] == "ckd-epi-2021"
    assert read_record(loaded, "labs", res.locator).cells["unit"] == "µmol/L"


def _derived_state(engine: Engine) -> tuple[dict[str, Any], dict[str, Any]]:
    with engine.connect() as conn:
        labs = {
            f"{r.patient_id}|{r.date}|{r.test}": (r.egfr, r.egfr_equation)
            for r in conn.execute(select(Lab))
        }
        ivs = {
            r.intervention_id: (
                r.side_derived,
                r.intent_derived,
                r.parent_intervention_id_derived,
                r.lineage_source,
            )
            for r in conn.execute(select(Intervention))
        }
    return labs, ivs


def _fresh_import(tmp_path: Path, rows: Rows, tag: str) -> Engine:
    other = make_engine(f"sqlite:///{tmp_path / f'{tag}.db'}")
    upgrade(other)
    assert import_folder(other, write_folder(tmp_path / tag, rows), actor="x").written
    return other


def test_demographic_correction_refreshes_egfr_like_import(loaded: Engine, tmp_path: Path) -> None:
    res = update_record(
        loaded,
        "patients",
        "P1",
        {"sex": "female", "birth_date": "1955-01-01"},
        "wrong chart",
        ACTOR,
    )
    assert res.changed == ["sex", "birth_date"]
    rows = copy.deepcopy(base_rows())
    rows["patients"][0].update(sex="female", birth_date="1955-01-01")
    labs_here, _ = _derived_state(loaded)
    labs_there, _ = _derived_state(_fresh_import(tmp_path, rows, "fresh"))
    assert labs_here.keys() == labs_there.keys()
    for key, (egfr, eq) in labs_there.items():
        assert labs_here[key][1] == eq
        assert (labs_here[key][0] is None) == (egfr is None)
        if egfr is not None:
            assert labs_here[key][0] == pytest.approx(egfr, rel=1e-12)
    updates = [r for r in audit.log_rows(loaded, limit=2)]
    assert {(r["field"], r["old"], r["new"], r["reason"]) for r in updates} == {
        ("sex", "male", "female", "wrong chart"),
        ("birth_date", "1950-01-01", "1955-01-01", "wrong chart"),
    }
    assert audit.verify(loaded).ok


def test_event_delete_and_create_refresh_lineage_like_import(
    loaded: Engine, tmp_path: Path
) -> None:
    _, before = _derived_state(loaded)
    assert before["I2"][1:3] == ("salvage", "I1")  # base rows: PN after a local recurrence
    with loaded.connect() as conn:
        from renalpath.registry.models import Event

        ev_id = conn.execute(select(Event.id).where(Event.type == "local_recurrence")).scalar_one()
    delete_record(loaded, "events", ev_id, "entered on the wrong patient", ACTOR)
    rows = copy.deepcopy(base_rows())
    rows["events"] = [e for e in rows["events"] if e["type"] != "local_recurrence"]
    _, here = _derived_state(loaded)
    _, there = _derived_state(_fresh_import(tmp_path, rows, "no_event"))
    assert here == there and here["I2"][1] == "primary"

    create_record(
        loaded,
        "events",
        {"patient_id": "P1", "tumour_id": "T1", "date": "2019-01-15", "type": "local_recurrence"},
        ACTOR,
    )
    _, again = _derived_state(loaded)
    assert again == before


def test_dependents_block_delete(loaded: Engine) -> None:
    before = _audit_count(loaded)
    with pytest.raises(RecordConflict) as err:
        delete_record(loaded, "patients", "P1", "test", ACTOR)
    msg = err.value.message
    assert "tumours: T1" in msg and "interventions: I1, I2" in msg and "labs:" in msg
    with pytest.raises(RecordConflict, match="imaging: T1"):
        delete_record(loaded, "tumours", "T1", "test", ACTOR)
    with pytest.raises(RecordConflict, match="pathology: I2"):
        delete_record(loaded, "interventions", "I2", "test", ACTOR)
    with pytest.raises(RecordConflict, match=re.escape("interventions: I1, I2; events: P1|T1|")):
        delete_record(loaded, "tumours", "T1", "test", ACTOR)
    assert _audit_count(loaded) == before
    with loaded.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Tumour)).scalar_one() == 2


def test_delete_audits_the_deleted_cells(loaded: Engine) -> None:
    delete_record(loaded, "pathology", "I2", "specimen belongs to another case", ACTOR)
    row = next(audit.log_rows(loaded))
    assert (row["action"], row["entity"], row["entity_id"]) == ("delete", "pathology", "I2")
    assert json.loads(str(row["old"]))["margin"] == "negative" and row["new"] is None
    assert row["reason"] == "specimen belongs to another case"
    with pytest.raises(RecordNotFound):
        read_record(loaded, "pathology", "I2")
    delete_record(loaded, "interventions", "I3", "duplicate entry", ACTOR)  # no dependents
    assert audit.verify(loaded).ok


def test_nothing_half_saved(loaded: Engine) -> None:
    before = _audit_count(loaded)
    iv = {
        "intervention_id": "I8",
        "patient_id": "P1",
        "tumour_id": "T1",
        "date": "2021-01-01",
        "type": "partial_nephrectomy",
    }
    with pytest.raises(RecordRefused) as err:
        create_records(
            loaded,
            [
                NewRecord("interventions", iv),
                NewRecord("pathology", {"intervention_id": "I8", "pt": "T9"}),
            ],
            ACTOR,
        )
    assert [(i.file, i.column) for i in err.value.errors] == [("pathology.csv", "pt")]
    with loaded.connect() as conn:
        assert (
            conn.execute(select(Intervention).where(Intervention.intervention_id == "I8")).first()
            is None
        )
    assert _audit_count(loaded) == before
    # valid together: the pathology may refer to the intervention written with it
    done = create_records(
        loaded,
        [
            NewRecord("interventions", iv),
            NewRecord("pathology", {"intervention_id": "I8", "pt": "T1a"}),
        ],
        ACTOR,
    )
    assert [r.entity for r in done] == ["interventions", "pathology"]
    # registry CSV contract rule: the recurrence of 2019-01-15 lies after I1 (cryoablation), not
    # after I2
    assert (
        done[0].derived["intent_derived"],
        done[0].derived["parent_intervention_id_derived"],
    ) == ("salvage", "I1")
    with loaded.connect() as conn:
        assert (
            conn.execute(select(Pathology.pt).where(Pathology.intervention_id == "I8")).scalar_one()
            == "T1a"
        )
    assert _audit_count(loaded) == before + 2


def test_update_rules(loaded: Engine) -> None:
    with pytest.raises(RecordRefused, match="reason is required"):
        update_record(loaded, "tumours", "T1", {"side": "right"}, "  ", ACTOR)
    with pytest.raises(RecordRefused, match="part of the record's key"):
        update_record(loaded, "tumours", "T1", {"tumour_id": "T2"}, "typo", ACTOR)
    with pytest.raises(RecordRefused, match="unknown column"):
        update_record(loaded, "tumours", "T1", {"size": "3"}, "typo", ACTOR)
    with pytest.raises(RecordRefused) as err:
        update_record(loaded, "tumours", "T1", {"ct": "T5"}, "typo", ACTOR)
    assert [(i.column, i.value) for i in err.value.errors] == [("ct", "T5")]
    with pytest.raises(RecordNotFound):
        update_record(loaded, "tumours", "T404", {"ct": "T1a"}, "typo", ACTOR)
    before = _audit_count(loaded)
    same = update_record(loaded, "tumours", "T1", {"ct": "T1a", "side": "left"}, "x", ACTOR)
    assert same.changed == [] and _audit_count(loaded) == before  # unchanged: nothing written
    res = update_record(loaded, "tumours", "T1", {"histology": None}, "not confirmed", ACTOR)
    assert res.changed == ["histology"] and res.cells["histology"] == ""
    row = next(audit.log_rows(loaded))
    assert (row["field"], row["old"], row["new"]) == ("histology", "clear_cell", None)


def test_lab_correction_validated_and_egfr_refreshed(loaded: Engine, tmp_path: Path) -> None:
    with loaded.connect() as conn:
        lab_id = conn.execute(select(Lab.id).where(Lab.value == 110.0)).scalar_one()
    with pytest.raises(RecordRefused) as err:
        update_record(loaded, "labs", lab_id, {"unit": "mg/dL"}, "unit typo", ACTOR)
    assert [i.column for i in err.value.errors] == ["value"]  # 110 mg/dL: the import's rule
    res = update_record(loaded, "labs", lab_id, {"value": "150"}, "transcription", ACTOR)
    rows = copy.deepcopy(base_rows())
    rows["labs"][1]["value"] = "150"
    labs_there, _ = _derived_state(_fresh_import(tmp_path, rows, "lab150"))
    assert res.derived["egfr"] == pytest.approx(labs_there["P1|2019-07-01|creatinine"][0])


def test_unstorable_input_is_refused_not_crashed(loaded: Engine) -> None:
    """PostgreSQL cannot store NUL and enforces VARCHAR lengths: refused up front."""
    with pytest.raises(RecordRefused) as err:
        create_record(
            loaded,
            "events",
            {"patient_id": "P1", "date": "2020-01-01", "type": "last_followup", "detail": "a\x00b"},
            ACTOR,
        )
    assert [(i.column, i.reason) for i in err.value.errors] == [
        ("detail", "contains a NUL character")
    ]
    with pytest.raises(RecordRefused, match="NUL"):
        update_record(loaded, "tumours", "T1", {"ct": "T1b"}, "why\x00", ACTOR)
    with pytest.raises(RecordNotFound):
        read_record(loaded, "tumours", "T\x001")
