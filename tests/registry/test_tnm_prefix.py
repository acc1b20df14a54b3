"""TNM prefixes that carry meaning (y, r, a and yr) are kept in the row's `tnm_prefix` beside
the canonical category, reported as a rewrite, refused when one row mixes two, and survive
the CSV, REDCap and FHIR round trips; the tumour-board case never reads a ypT as a pT."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from renalpath.registry import redcap as rc
from renalpath.registry.dictionary import FILES, TNM_PREFIXES
from renalpath.registry.exporter import export_folder
from renalpath.registry.models import TABLES
from renalpath.registry.redcap_records import export_records, import_records
from renalpath.registry.validate import Report
from tests.registry.registry_fixtures import Rows, base_rows, write_folder
from tests.registry.test_messy_import import _engine, _errors, _import, dump


def _stored(engine: Engine, table: str, *cols: str) -> list[tuple[object, ...]]:
    t = TABLES[table]
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(*[t.c[c] for c in cols])).all()]


def _pathology(engine: Engine) -> tuple[object, ...]:
    [row] = _stored(engine, "pathology", "pt", "pn", "pm", "tnm_prefix")
    return row


def _rows(pt: str = "T1a", pn: str = "NX", pm: str = "", prefix: str = "") -> Rows:
    rows = copy.deepcopy(base_rows())
    rows["pathology"][0].update(pt=pt, pn=pn, pm=pm, tnm_prefix=prefix)
    return rows


def _rewrites(report: Report, column: str) -> set[tuple[str | None, str]]:
    return {(w.value, w.reason) for w in report.warnings if w.column == column}


@pytest.mark.parametrize(
    ("written", "stored", "prefix"),
    [
        ("ypT1a", "T1a", "y"),  # after neoadjuvant therapy
        ("rpT3a", "T3a", "r"),  # recurrence after a disease-free interval
        ("aT2", "T2", "a"),  # at autopsy (no c/p)
        ("apT2", "T2", "a"),
        ("yrpT3b", "T3b", "yr"),  # both, in either order
        ("rypT3b", "T3b", "yr"),
        ("YPT2", "T2", "y"),  # any case
        ("yp T2a", "T2a", "y"),
    ],
)
def test_a_meaningful_prefix_is_kept_beside_the_category(
    tmp_path: Path, written: str, stored: str, prefix: str
) -> None:
    result, engine = _import(tmp_path, write_folder(tmp_path / "reg", _rows(pt=written)))
    assert result.written, result.report.render()
    assert _pathology(engine) == (stored, "NX", None, prefix)
    assert (written, f"stored as '{stored} (tnm_prefix {prefix})'") in _rewrites(
        result.report, "pt"
    )


def test_the_prefix_of_one_category_is_the_rows(tmp_path: Path) -> None:
    """ypT2 pN0 M0: one classification; the categories written without y share it."""
    rows = _rows(pt="ypT2", pn="pN0", pm="M0")
    rows["tumours"][0].update(ct="ycT2", cn="cN0", cm="YCM0")
    result, engine = _import(tmp_path, write_folder(tmp_path / "reg", rows))
    assert result.written, result.report.render()
    assert _pathology(engine) == ("T2", "N0", "M0", "y")
    cols = ("tumour_id", "ct", "cn", "cm", "tnm_prefix")
    tumours = {r[0]: r[1:] for r in _stored(engine, "tumours", *cols)}
    assert tumours["T1"] == ("T2", "N0", "M0", "y")
    assert tumours["T3"] == (None, None, None, None)
    assert ("pN0", "stored as 'N0'") in _rewrites(result.report, "pn")  # p merely repeats
    assert ("YCM0", "stored as 'M0 (tnm_prefix y)'") in _rewrites(result.report, "cm")


def test_a_prefix_column_written_beside_the_categories_is_read(tmp_path: Path) -> None:
    result, engine = _import(tmp_path, write_folder(tmp_path / "reg", _rows(pt="ypT2", prefix="Y")))
    assert result.written, result.report.render()
    assert _pathology(engine) == ("T2", "NX", None, "y")
    ry, engine = _import(tmp_path, write_folder(tmp_path / "ry", _rows(prefix="ry")), db="ry.db")
    assert ry.written, ry.report.render()
    assert _pathology(engine) == ("T1a", "NX", None, "yr")


@pytest.mark.parametrize(
    ("rows", "named"),
    [
        (_rows(pt="ypT2", pn="rpN1"), "pt 'ypT2', pn 'rpN1'"),
        (_rows(pt="ypT2", pn="yrpN1"), "pt 'ypT2', pn 'yrpN1'"),
        (_rows(pt="rpT2", prefix="y"), "tnm_prefix 'y', pt 'rpT2'"),
    ],
)
def test_different_prefixes_in_one_row_are_refused(tmp_path: Path, rows: Rows, named: str) -> None:
    result, _ = _import(tmp_path, write_folder(tmp_path / "reg", rows))
    assert not result.written
    [(file, column, reason, n)] = _errors(result.report)
    assert (file, column, n) == ("pathology.csv", "tnm_prefix", 1)
    assert named in reason and "one classification" in reason


@pytest.mark.parametrize(
    ("written", "because"),
    [
        ("ycT2", "pathological column pt"),  # a clinical prefix in a pathological column
        ("yaT2", "not a TNM prefix"),  # y and a do not combine
        ("ypN2", "AJCC 7"),  # the category is still checked
    ],
)
def test_prefixes_that_do_not_fit_are_refused(tmp_path: Path, written: str, because: str) -> None:
    column = "pn" if "N" in written else "pt"
    result, _ = _import(tmp_path, write_folder(tmp_path / "reg", _rows(**{column: written})))
    assert not result.written
    errors = {(f, c): r for f, c, r, _ in _errors(result.report)}
    assert because in errors[("pathology.csv", column)]


def test_the_staging_file_keeps_its_prefix_in_the_classification(tmp_path: Path) -> None:
    rows = _rows()
    rows["staging"] = [
        {
            "tumour_id": "T1",
            "date": "2019-06-01",
            "classification": "yp",
            "t_category": "ypT2",
            "ajcc_edition": "8",
        }
    ]
    result, _ = _import(tmp_path, write_folder(tmp_path / "reg", rows))
    errors = {(f, c): r for f, c, r, _ in _errors(result.report)}
    assert "classification column" in errors[("staging.csv", "t_category")]


def _prefixed_rows() -> Rows:
    rows = _rows(pt="ypT2", pn="ypN0", pm="M0")
    rows["tumours"][0].update(ct="rcT3a", cn="N1")
    return rows


def test_csv_export_writes_the_prefix_and_reimports_the_same(tmp_path: Path) -> None:
    result, source = _import(tmp_path, write_folder(tmp_path / "reg", _prefixed_rows()))
    assert result.written, result.report.render()
    export_folder(source, tmp_path / "out")
    text = (tmp_path / "out" / "pathology.csv").read_text("utf-8").splitlines()
    assert text[0].split(",") == list(FILES["pathology"].column_names)
    assert "T2,N0,M0,y," in text[1]
    again, target = _import(tmp_path, tmp_path / "out", db="again.db")
    assert again.written and not again.report.warnings, again.report.render()
    assert dump(target) == dump(source)
    export_folder(target, tmp_path / "out2")
    for name in FILES:
        file = FILES[name].filename
        assert (tmp_path / "out2" / file).read_bytes() == (tmp_path / "out" / file).read_bytes()


def test_redcap_carries_the_prefix(tmp_path: Path) -> None:
    field = {f.name: f for f in rc.FIELDS}[rc.field_name("pathology", "tnm_prefix")]
    assert [c.value for c in rc.choices(field.column)] == list(TNM_PREFIXES)
    assert "tnm_prefix" in rc.dictionary_csv()
    result, source = _import(tmp_path, write_folder(tmp_path / "reg", _prefixed_rows()))
    assert result.written
    export_records(source, tmp_path / "redcap")
    target = _engine(tmp_path / "target.db")
    back = import_records(target, tmp_path / "redcap" / rc.RECORDS_FILE)
    assert back.written and not back.report.warnings, back.report.render()
    assert dump(target) == dump(source)


def test_fhir_writes_the_prefixed_categories_and_reads_them_back(tmp_path: Path) -> None:
    from renalpath.interop.fhir.export import export_fhir
    from renalpath.interop.fhir.importer import read_fhir

    result, source = _import(tmp_path, write_folder(tmp_path / "reg", _prefixed_rows()))
    assert result.written
    export_fhir(source, tmp_path / "nd", "fhir")
    resources = [
        json.loads(line)
        for f in sorted((tmp_path / "nd").glob("*.ndjson"))
        for line in f.read_text("utf-8").splitlines()
    ]
    texts = {
        r["valueCodeableConcept"]["text"]
        for r in resources
        if r["resourceType"] == "Observation" and "valueCodeableConcept" in r
    }
    assert {"ypT2", "ypN0", "ypM0", "rcT3a", "rcN1"} <= texts
    read = read_fhir(tmp_path / "nd")
    assert not read.errors, read.errors
    [path] = read.rows["pathology"]
    assert (path["pt"], path["tnm_prefix"]) == ("T2", "y")


def test_the_case_builder_does_not_read_a_ypt_as_a_pt(tmp_path: Path) -> None:
    from renalpath.registry.case_builder import build_case

    result, engine = _import(tmp_path, write_folder(tmp_path / "reg", _prefixed_rows()))
    assert result.written
    built = build_case(engine, "P1", today=dt.date(2023, 1, 1))
    assert built is not None
    assert "pt" not in built.case["pathology"] and "pn" not in built.case["pathology"]
    assert "cn" not in built.case["tumour"]
    assert any("ypT2 ypN0 ypM0" in n and "neoadjuvant" in n for n in built.notes)
    assert any("rcT3a rcN1" in n and "recurrence" in n for n in built.notes)
    plain, engine = _import(tmp_path, write_folder(tmp_path / "plain", _rows()), db="p.db")
    assert plain.written
    built = build_case(engine, "P1", today=dt.date(2023, 1, 1))
    assert built is not None and built.case["pathology"]["pt"] == "pT1a"


@pytest.mark.parametrize(
    ("text", "read"),
    [("ycT2", ("T2", "y")), ("rpN1", ("N1", "r")), ("cT1a", ("T1a", "")), ("T3", ("T3", ""))],
)
def test_fhir_category_text_of_other_senders_keeps_the_prefix(
    text: str, read: tuple[str, str]
) -> None:
    from renalpath.interop.fhir.importer import _category_text

    assert _category_text({"valueCodeableConcept": {"text": text}}) == read
