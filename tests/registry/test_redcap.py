"""REDCap both ways: the generated project follows REDCap's rules, a registry goes out as REDCap
records and comes back table by table equal, and a REDCap export (raw codes or labels) goes
through the registry import — its validation, all-or-nothing write, dry run and update.

REDCap's rules checked here, as REDCap and its tools document them: variable names of lower-case
letters, digits and underscores, starting with a letter and (REDCapR/redcapAPI's pattern) not
ending with an underscore, 26 characters or fewer recommended; the record id is the first field
of the first form; a form's fields are contiguous; a `yesno` field stores 1 (yes) / 0 (no);
dropdown raw codes of lower-case letters, digits and underscores; a repeating form's rows carry
`redcap_repeat_instrument` and `redcap_repeat_instance`, the record form's row leaves both blank.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from renalpath.registry import redcap as rc
from renalpath.registry.dictionary import FILES
from renalpath.registry.importer import ImportResult, import_folder
from renalpath.registry.normalise import ReadOptions
from renalpath.registry.redcap_records import (
    RedcapError,
    export_records,
    import_records,
    write_records,
)
from tests.registry.registry_fixtures import Rows, base_rows, write_folder
from tests.registry.test_messy_import import _engine, dump, synthetic_rows

Run = Callable[..., CompletedProcess[str]]
Dump = dict[str, list[tuple[object, ...]]]

NAME = re.compile(r"^[a-z][a-z0-9_]*[a-z0-9]$")  # REDCap variable / form names
CODE = re.compile(r"^[a-z0-9_]+$")  # dropdown raw codes
FIELD_BY_NAME = {f.name: f for f in rc.FIELDS}


def _dictionary() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(rc.dictionary_csv())))


def _records(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8", newline="")))


def _loaded(tmp: Path, rows: Rows, name: str = "src.db") -> Engine:
    engine = _engine(tmp / name)
    result = import_folder(engine, write_folder(tmp / f"{name}.csv", rows))
    assert result.written, result.report.render()
    return engine


def _rows_with_every_grade() -> Rows:
    rows = synthetic_rows(12, seed=5)
    ivs = rows["interventions"]
    values = [c.value for c in rc.choices(FILES["complications"].column("clavien_dindo"))]
    for i, grade in enumerate(values):
        iv = ivs[i % len(ivs)]["intervention_id"]
        rows["complications"].append(
            {"intervention_id": iv, "clavien_dindo": grade, "description": f"no. {i}, a comma"}
        )
    return rows


# --- the data dictionary -----------------------------------------------------------------


def test_field_names_follow_redcap_rules() -> None:
    rows = _dictionary()
    names = [r["Variable / Field Name"] for r in rows]
    assert names[0] == rc.RECORD_ID == "patient_id"  # the record id is the first field
    assert rows[0]["Form Name"] == rc.RECORD_FORM == "patients"
    assert len(names) == len(set(names))
    for name in names:
        assert NAME.fullmatch(name), name
        assert len(name) <= 26, name
        assert not name.startswith("redcap_"), name  # REDCap's own columns
    status = {f"{form}_complete" for form in FILES}  # REDCap adds one per form
    assert not status & set(names)
    forms = [r["Form Name"] for r in rows]
    assert all(NAME.fullmatch(f) for f in forms)
    # each form's fields are contiguous, in the dictionary's table order
    assert list(dict.fromkeys(forms)) == list(FILES)
    assert forms == sorted(forms, key=list(FILES).index)


def test_every_registry_column_is_a_field_of_its_form() -> None:
    """Driven by the data dictionary: a new table or column shows up without code here."""
    rows = {(r["Form Name"], r["Field Annotation"]) for r in _dictionary()}
    for name, spec in FILES.items():
        for col in spec.columns:
            if name != rc.RECORD_FORM and col.name == rc.RECORD_ID:
                continue  # the record id says whose row it is
            assert (name, f"renalpath {spec.filename} column {col.name}") in rows


def test_field_types_and_choices() -> None:
    for row in _dictionary():
        field = FIELD_BY_NAME[row["Variable / Field Name"]]
        col = field.column
        kind, listed = row["Field Type"], row["Choices, Calculations, OR Slider Labels"]
        if col.type == "bool":
            assert (kind, listed) == ("yesno", "")
            assert {(c.code, c.value) for c in rc.choices(col)} == {("1", "true"), ("0", "false")}
        elif col.enum is not None:
            assert kind == "dropdown"
            pairs = [p.split(", ", 1) for p in listed.split(" | ")]
            codes = [c for c, _ in pairs]
            labels = [label for _, label in pairs]
            assert all(CODE.fullmatch(c) for c in codes), codes
            assert len(set(codes)) == len(codes) and len(set(labels)) == len(labels)
            assert not any("_" in label for label in labels), labels  # words, not codes
            assert all(
                label[:1].isupper() or label[:1].isdigit() or label.startswith("eGFR")
                for label in labels
            ), labels
        elif col.type == "date":
            assert row["Text Validation Type OR Show Slider Number"] == "date_ymd"
        elif col.type == "int":
            assert row["Text Validation Type OR Show Slider Number"] == "integer"
        elif col.type == "float":
            assert row["Text Validation Type OR Show Slider Number"] == "number"
        assert row["Required Field?"] == ("y" if col.required else "")
        assert "_" not in row["Field Label"].split("(")[0], row["Field Label"]


def test_clavien_dindo_choices_include_the_disability_suffix() -> None:
    """Dindo 2004: grades I, II, IIIa, IIIb, IVa, IVb, V; suffix "-d" (disability at
    discharge) on any grade but V (death)."""
    row = next(r for r in _dictionary() if r["Variable / Field Name"] == "comp_clavien_dindo")
    assert row["Choices, Calculations, OR Slider Labels"] == (
        "i, I | i_d, I-d | ii, II | ii_d, II-d | iiia, IIIa | iiia_d, IIIa-d | iiib, IIIb | "
        "iiib_d, IIIb-d | iva, IVa | iva_d, IVa-d | ivb, IVb | ivb_d, IVb-d | v, V"
    )


def test_labels_are_unique_and_decode_unambiguously() -> None:
    labels = [f.label.lower() for f in rc.FIELDS]
    assert len(labels) == len(set(labels))  # a labelled export's header names each field once
    for field in rc.FIELDS:
        seen: dict[str, str] = {}
        for c in rc.choices(field.column):
            for token in (c.code, c.label):
                assert seen.setdefault(token, c.value) == c.value, (field.name, token)


def test_form_prefixes_are_unique() -> None:
    prefixes = [rc.form_prefix(n) for n in FILES if rc.repeating(n)]
    assert len(prefixes) == len(set(prefixes))


# --- round trip --------------------------------------------------------------------------


def _round_trip(tmp: Path, source: Engine, **kwargs: object) -> tuple[ImportResult, Engine]:
    export_records(source, tmp / "redcap")
    target = _engine(tmp / "target.db")
    result = import_records(target, tmp / "redcap" / rc.RECORDS_FILE, **kwargs)  # type: ignore[arg-type]
    assert result.written, result.report.render()
    return result, target


def _assert_same(target: Engine, expected: Dump) -> None:
    got = dump(target)
    for name in expected:
        assert got[name] == expected[name], name


def test_round_trip_is_table_by_table_equal(tmp_path: Path) -> None:
    source = _loaded(tmp_path, _rows_with_every_grade())
    result, target = _round_trip(tmp_path, source)
    assert not result.report.warnings, result.report.render()  # codes are exact, no rewrite
    _assert_same(target, dump(source))
    # a second import of the same file changes nothing
    again = import_records(target, tmp_path / "redcap" / rc.RECORDS_FILE)
    assert again.written and again.audit_rows == 0
    assert all(c["inserted"] == c["updated"] == 0 for c in again.counts.values())


def test_round_trip_on_each_database(engine: Engine, tmp_path: Path) -> None:
    rows = _rows_with_every_grade()
    assert import_folder(engine, write_folder(tmp_path / "csv", rows)).written
    export_records(engine, tmp_path / "redcap")
    target = _engine(tmp_path / "target.db")
    assert import_records(target, tmp_path / "redcap" / rc.RECORDS_FILE).written
    _assert_same(target, dump(engine))


def _to_labels(src: Path, dst: Path, *, headers: bool, values: bool) -> Path:
    """The records file as REDCap's labelled export writes it ("Repeat Instrument" holds the
    form's label, coded cells their choice labels, the header the field labels)."""
    table = list(csv.reader(src.open(encoding="utf-8", newline="")))
    head = table[0]
    system = {rc.REPEAT_INSTRUMENT: "Repeat Instrument", rc.REPEAT_INSTANCE: "Repeat Instance"}
    out = [[system.get(h) or FIELD_BY_NAME[h].label for h in head] if headers else head]
    for row in table[1:]:
        new = []
        for h, v in zip(head, row, strict=True):
            if values and h == rc.REPEAT_INSTRUMENT and v:
                v = rc.form_label(FILES[v])
            elif values and h in FIELD_BY_NAME and v:
                v = {c.code: c.label for c in rc.choices(FIELD_BY_NAME[h].column)}.get(v, v)
            new.append(v)
        out.append(new)
    with dst.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(out)
    return dst


@pytest.mark.parametrize(("headers", "values"), [(True, True), (False, True), (True, False)])
def test_labelled_export_imports_the_same(tmp_path: Path, headers: bool, values: bool) -> None:
    source = _loaded(tmp_path, _rows_with_every_grade())
    export_records(source, tmp_path / "redcap")
    labelled = _to_labels(
        tmp_path / "redcap" / rc.RECORDS_FILE,
        tmp_path / "labels.csv",
        headers=headers,
        values=values,
    )
    target = _engine(tmp_path / "target.db")
    result = import_records(target, labelled)
    assert result.written, result.report.render()
    _assert_same(target, dump(source))


_EXAMPLES = 6


@settings(
    max_examples=_EXAMPLES,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 10), labels=st.booleans())
def test_random_registries_round_trip(
    tmp_path_factory: pytest.TempPathFactory, seed: int, n: int, labels: bool
) -> None:
    tmp = tmp_path_factory.mktemp("redcap")
    source = _loaded(tmp, synthetic_rows(n, seed))
    export_records(source, tmp / "redcap")
    path = tmp / "redcap" / rc.RECORDS_FILE
    if labels:
        path = _to_labels(path, tmp / "labels.csv", headers=True, values=True)
    target = _engine(tmp / "target.db")
    result = import_records(target, path)
    assert result.written, result.report.render()
    _assert_same(target, dump(source))


def test_records_file_is_consistent_with_the_dictionary(tmp_path: Path) -> None:
    source = _loaded(tmp_path, _rows_with_every_grade())
    counts = export_records(source, tmp_path / "redcap")
    dictionary = list(csv.DictReader((tmp_path / "redcap" / rc.DICTIONARY_FILE).open()))
    assert (tmp_path / "redcap" / rc.DICTIONARY_FILE).read_text() == rc.dictionary_csv()
    fields = {r["Variable / Field Name"]: r for r in dictionary}
    records = _records(tmp_path / "redcap" / rc.RECORDS_FILE)
    header = list(records[0])
    assert header[0] == rc.RECORD_ID
    assert set(header) <= set(fields) | {rc.REPEAT_INSTRUMENT, rc.REPEAT_INSTANCE}
    per_form: dict[str, int] = {}
    instances: dict[tuple[str, str], list[int]] = {}
    for rec in records:
        form = rec[rc.REPEAT_INSTRUMENT] or rc.RECORD_FORM
        per_form[form] = per_form.get(form, 0) + 1
        if form == rc.RECORD_FORM:
            assert rec[rc.REPEAT_INSTANCE] == ""
        else:
            instances.setdefault((rec[rc.RECORD_ID], form), []).append(int(rec[rc.REPEAT_INSTANCE]))
        for name, value in rec.items():
            if name in (rc.RECORD_ID, rc.REPEAT_INSTRUMENT, rc.REPEAT_INSTANCE) or value == "":
                continue
            spec = fields[name]
            assert spec["Form Name"] == form, (name, form)  # a row holds its own form only
            kind = spec["Field Type"]
            check = spec["Text Validation Type OR Show Slider Number"]
            if kind == "yesno":
                assert value in ("0", "1")
            elif kind == "dropdown":
                listed = spec["Choices, Calculations, OR Slider Labels"]
                codes = [p.split(", ", 1)[0] for p in listed.split(" | ")]
                assert value in codes, (name, value)
            elif check == "date_ymd":
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)
            elif check == "integer":
                assert re.fullmatch(r"-?\d+", value)
            elif check == "number":
                assert re.fullmatch(r"-?\d+(\.\d+)?", value), (name, value)
    assert per_form == {name: n for name, n in counts.items() if n}
    assert all(sorted(v) == list(range(1, len(v) + 1)) for v in instances.values())
    # records are grouped: each record's rows are together, its record-form row first
    order = [r[rc.RECORD_ID] for r in records]
    assert order == sorted(order)


def test_numbers_without_exponent_and_formula_guard(tmp_path: Path) -> None:
    rows = copy.deepcopy(base_rows())
    rows["labs"].append(
        {
            "patient_id": "P1",
            "date": "2020-03-01",
            "test": "calcium",
            "value": "0.00001",
            "unit": "mg/dL",
        }
    )
    rows["complications"][0]["description"] = "=HYPERLINK(x)"
    source = _loaded(tmp_path, rows)
    export_records(source, tmp_path / "redcap")
    records = _records(tmp_path / "redcap" / rc.RECORDS_FILE)
    assert "0.00001" in {r["lab_value"] for r in records}
    assert "'=HYPERLINK(x)" in {r["comp_description"] for r in records}


def test_empty_registry_writes_the_header(tmp_path: Path) -> None:
    counts = write_records({}, tmp_path / "r.csv")
    assert counts == {}
    assert (tmp_path / "r.csv").read_text().splitlines() == [",".join(rc.record_header())]


def test_row_without_patient_is_refused(tmp_path: Path) -> None:
    tables = {
        "imaging": _frame("imaging", [{"tumour_id": "T9", "date": "2020-01-01", "size_mm": "20"}])
    }
    with pytest.raises(RedcapError, match="imaging: no column leads to a patient"):
        write_records(tables, tmp_path / "r.csv")


def _frame(table: str, rows: list[dict[str, str]]) -> pd.DataFrame:
    cols = list(FILES[table].column_names)
    return pd.DataFrame([{c: r.get(c, "") for c in cols} for r in rows], columns=cols)


# --- import: the registry's paths ----------------------------------------------------------


def _exported(tmp: Path) -> tuple[Engine, list[list[str]]]:
    source = _loaded(tmp, base_rows())
    export_records(source, tmp / "redcap")
    text = (tmp / "redcap" / rc.RECORDS_FILE).read_text(encoding="utf-8")
    return source, list(csv.reader(io.StringIO(text)))


def _write(path: Path, table: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(table)
    return path


def _errors(result: ImportResult) -> set[tuple[str, int | None, str | None, str]]:
    return {(i.file, i.line, i.column, i.reason) for i in result.report.errors}


def test_dry_run_and_update_go_through_the_importer(tmp_path: Path) -> None:
    source, table = _exported(tmp_path)
    head = table[0]
    row = next(r for r in table if r[1] == "tumours" and r[head.index("tum_tumour_id")] == "T1")
    row[head.index("tum_ct")] = "t1b"
    path = _write(tmp_path / "v2.csv", table)
    expected = [{"file": "tumours", "id": "T1", "column": "ct", "old": "T1a", "new": "T1b"}]
    dry = import_records(source, path, dry_run=True, update=True, reason="review")
    assert not dry.written and dry.diff() == expected
    refused = import_records(source, path)
    assert refused.updates_refused and not refused.written
    done = import_records(source, path, update=True, reason="pathology review")
    assert done.written and done.diff() == expected
    assert [r for r in dump(source)["tumours"] if "T1b" in r]


def test_invalid_cells_are_refused_with_redcap_lines_and_names(tmp_path: Path) -> None:
    _, table = _exported(tmp_path)
    head = table[0]
    line = next(i for i, r in enumerate(table) if r[1] == "tumours") + 1
    table[line - 1][head.index("tum_side")] = "up"
    path = _write(tmp_path / "bad.csv", table)
    target = _engine(tmp_path / "t.db")
    result = import_records(target, path)
    assert not result.written
    assert ("bad.csv (tumours)", line, "tum_side", "not one of left | right") in _errors(result)
    assert dump(target)["patients"] == []  # all or nothing


def test_layout_errors_name_their_line(tmp_path: Path) -> None:
    _, table = _exported(tmp_path)
    head = table[0]
    col = head.index
    table.append(list(table[2]))  # the same instance twice
    stray = list(table[2])
    stray[1] = "biopsies"
    table.append(stray)  # an unknown form
    no_instance = list(table[2])
    no_instance[2] = ""
    table.append(no_instance)
    wrong_form = list(table[1])
    wrong_form[col("tum_side")] = "left"
    table[1] = wrong_form  # a tumour field on the patient row
    imaging = next(i for i, r in enumerate(table) if r[1] == "imaging")
    table[imaging][0] = "P2"  # P1's tumour filed under P2
    n = len(table)
    result = import_records(_engine(tmp_path / "t.db"), _write(tmp_path / "bad.csv", table))
    reasons = {(line, column): reason for _f, line, column, reason in _errors(result)}
    assert "given twice" in reasons[(n - 2, "patient_id")]
    assert (
        "not a form of the renalpath REDCap dictionary"
        in reasons[(n - 1, "redcap_repeat_instrument")]
    )
    assert "instance number" in reasons[(n, "redcap_repeat_instance")]
    assert "a field of form tumours on a row of form patients" in reasons[(2, "tum_side")]
    assert (
        reasons[(imaging + 1, "img_tumour_id")]
        == "belongs to record P1, not to record P2 of this row"
    )


def test_header_problems(tmp_path: Path) -> None:
    _, table = _exported(tmp_path)
    target = _engine(tmp_path / "t.db")

    def run(tab: list[list[str]], **options: object) -> ImportResult:
        path = _write(tmp_path / "h.csv", tab)
        return import_records(target, path, options=ReadOptions(**options))  # type: ignore[arg-type]

    extra = [[*r, "mrn" if i == 0 else "H1"] for i, r in enumerate(table)]
    refused = run(extra)
    assert any(c == "mrn" and "not a field" in r for _f, _l, c, r in _errors(refused))
    assert run(extra, ignore_columns=("mrn",)).written
    status = [[*r, "patients_complete" if i == 0 else "2"] for i, r in enumerate(table)]
    ok = run(status)
    assert ok.written and any("patients_complete" in w.reason for w in ok.report.warnings)
    event = [[*r, "redcap_event_name" if i == 0 else "baseline_arm_1"] for i, r in enumerate(table)]
    assert any("longitudinal" in r for *_x, r in _errors(run(event)))
    no_id = [r[1:] for r in table]
    assert any("record id column" in r for *_x, r in _errors(run(no_id)))
    head = table[0]
    keep = [i for i, h in enumerate(head) if h != "lab_unit"]
    no_unit = [[r[i] for i in keep] for r in table]
    errors = _errors(run(no_unit))
    assert errors == {("h.csv (labs)", 1, "lab_unit", "required column missing")}


def test_record_row_without_its_fields_is_no_patient(tmp_path: Path) -> None:
    """A REDCap export of some forms only: the record rows are empty, the patients stay as
    they are in the database."""
    source, table = _exported(tmp_path)
    head = table[0]
    patient_fields = [
        i
        for i, h in enumerate(head)
        if h in FIELD_BY_NAME and FIELD_BY_NAME[h].table == "patients" and h != "patient_id"
    ]
    for row in table[1:]:
        if row[1] == "":
            for i in patient_fields:
                row[i] = ""
    result = import_records(source, _write(tmp_path / "some.csv", table))
    assert result.written and "patients" not in result.counts


# --- CLI ---------------------------------------------------------------------------------


def test_cli_export_and_import_redcap(cli: Run, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    assert (
        cli("import", str(write_folder(tmp_path / "reg", base_rows())), "--db", db).returncode == 0
    )
    out = cli("export", str(tmp_path / "rc"), "--format", "redcap", "--db", db, "--json")
    assert out.returncode == 0, out.stderr
    payload = json.loads(out.stdout)
    assert payload["rows"]["patients"] == 2 and payload["format"] == "redcap"
    records = tmp_path / "rc" / rc.RECORDS_FILE
    assert (tmp_path / "rc" / rc.DICTIONARY_FILE).exists()
    db2 = f"sqlite:///{tmp_path / 'b.db'}"
    dry = cli("import", str(records), "--format", "redcap", "--db", db2, "--dry-run", "--json")
    assert dry.returncode == 0 and json.loads(dry.stdout)["written"] is False
    done = cli("import", str(records), "--format", "redcap", "--db", db2)
    assert done.returncode == 0, done.stderr
    assert "patients: 2 inserted" in done.stdout
    back = cli("export", str(tmp_path / "csv"), "--db", db2)
    assert back.returncode == 0
    for name in FILES:
        assert (tmp_path / "csv" / f"{name}.csv").read_text() == (
            tmp_path / "reg" / f"{name}.csv"
        ).read_text(), name


def test_cli_deidentified_redcap_export_reimports(cli: Run, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'a.db'}"
    cli("import", str(write_folder(tmp_path / "reg", base_rows())), "--db", db)
    key = tmp_path / "key"
    key.write_text("0123456789abcdef0123456789abcdef\n")
    out = cli(
        "export",
        str(tmp_path / "rc"),
        "--format",
        "redcap",
        "--deidentify",
        "--key-file",
        str(key),
        "--db",
        db,
    )
    assert out.returncode == 0, out.stderr
    records = _records(tmp_path / "rc" / rc.RECORDS_FILE)
    assert {r["patient_id"] for r in records}.isdisjoint({"P1", "P2"})
    assert all(r["comp_description"] == "" for r in records)
    db2 = f"sqlite:///{tmp_path / 'b.db'}"
    done = cli("import", str(tmp_path / "rc" / rc.RECORDS_FILE), "--format", "redcap", "--db", db2)
    assert done.returncode == 0, done.stderr


def test_cli_refused_import_exit_1(cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "patient_id,redcap_repeat_instrument,redcap_repeat_instance,sex,birth_date\n"
        "P1,,,x,1950-01-01\n"
    )
    done = cli("import", str(path), "--format", "redcap", "--db", f"sqlite:///{tmp_path / 'a.db'}")
    assert done.returncode == 1
    assert "r.csv (patients):2 column sex value 'x'" in done.stderr


def test_semicolon_file_multiline_notes_and_bom(tmp_path: Path) -> None:
    """REDCap can export with another delimiter and decimal character; notes fields can hold
    line breaks; Excel adds a byte-order mark when it saves UTF-8."""
    source, table = _exported(tmp_path)
    head = table[0]
    described = next(
        i for i, r in enumerate(table[1:], start=1) if r[head.index("comp_description")]
    )
    table[described][head.index("comp_description")] = "bleeding;\nsecond line"
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\r\n").writerows(
        [[v.replace(".", ",") if re.fullmatch(r"\d+\.\d+", v) else v for v in row] for row in table]
    )
    path = tmp_path / "semicolon.csv"
    path.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))
    target = _engine(tmp_path / "t.db")
    result = import_records(target, path)
    assert result.written, result.report.render()
    expected = dump(source)
    got = dump(target)
    for name in expected:
        if name != "complications":
            assert got[name] == expected[name], name
    assert any("bleeding;\nsecond line" in row for row in got["complications"])
    separator = [w for w in result.report.warnings if "separated" in w.reason]
    assert len(separator) == 1 and separator[0].file == "semicolon.csv"


def test_header_only_file_imports_nothing(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(",".join(rc.record_header()) + "\n", encoding="utf-8")
    result = import_records(_engine(tmp_path / "t.db"), path)
    assert result.written and result.counts["patients"]["inserted"] == 0


def test_unreadable_file_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("patient_id,sex\nP1,m\xe4le\n".encode("latin-1"))
    result = import_records(_engine(tmp_path / "t.db"), path)
    assert not result.written
    [error] = result.report.errors
    assert error.file == "latin.csv" and error.line == 2 and "--encoding" in error.reason
    missing = import_records(_engine(tmp_path / "t2.db"), tmp_path / "nothing.csv")
    assert not missing.written and "not a file" in missing.report.errors[0].reason
