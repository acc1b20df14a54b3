"""De-identified export (REDCap's model): no identifier survives, every interval
within a patient is kept to the day, offsets are per patient and keyed, and the result is a
valid registry folder that re-imports."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from renalpath.clinical.egfr import MDRD
from renalpath.outcomes.salvage import salvage_study
from renalpath.outcomes.source import salvage_frames
from renalpath.registry import audit
from renalpath.registry.db import make_engine, upgrade
from renalpath.registry.deidentify import (
    MAX_SHIFT_DAYS,
    DeidentifyError,
    Pseudonymiser,
    deidentify_folder,
    export_deidentified,
    load_key,
    record_export,
)
from renalpath.registry.dictionary import FILES
from renalpath.registry.exporter import export_folder
from renalpath.registry.importer import import_folder
from renalpath.synth.writer import write_registry
from tests.registry.registry_fixtures import base_rows, write_folder

Run = Callable[..., CompletedProcess[str]]
Table = list[dict[str, str]]
KEY = b"k" * 32
OTHER_KEY = b"z" * 32
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def read(folder: Path) -> dict[str, Table]:
    out: dict[str, Table] = {}
    for name, spec in FILES.items():
        with (folder / spec.filename).open(encoding="utf-8", newline="") as fh:
            out[name] = list(csv.DictReader(fh))
    return out


def cols_tagged(phi: str) -> list[tuple[str, str]]:
    return [(f, c.name) for f, s in FILES.items() for c in s.columns if c.phi == phi]


@pytest.fixture(scope="module")
def synth_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A synthetic registry exported as is, and its de-identified copy (same database)."""
    root = tmp_path_factory.mktemp("deid")
    write_registry(root / "csv", 60, 2)  # seed 2: salvage cases present
    engine = make_engine(f"sqlite:///{root / 'r.db'}")
    upgrade(engine)
    assert import_folder(engine, root / "csv", actor="test").written
    export_folder(engine, root / "full")
    export_deidentified(engine, root / "deid", KEY)
    engine.dispose()
    return root / "full", root / "deid"


# ------------------------------------------------------------------- the dictionary tags


def test_dictionary_tags_every_id_date_and_free_text_column() -> None:
    """Every date and every id/reference column is tagged; the only untagged text columns are
    the coded lab unit and equation and the regimen (agent names) — a new text column must be
    tagged consciously."""
    for spec in FILES.values():
        for c in spec.columns:
            if c.type == "date":
                assert c.phi == "date", (spec.name, c.name)
            if c.references or c.name in ("patient_id", "tumour_id", "intervention_id"):
                assert c.phi == "record_id", (spec.name, c.name)
    untagged_text = {
        (f, c.name)
        for f, s in FILES.items()
        for c in s.columns
        if c.type == "str" and c.phi is None
    }
    assert untagged_text == {
        ("labs", "unit"),
        ("labs", "equation"),
        ("systemic_therapy", "regimen"),
    }
    assert set(cols_tagged("free_text")) == {("complications", "description"), ("events", "detail")}


# ------------------------------------------------------------------- no identifier survives


def test_no_identifier_or_free_text_value_survives(synth_pair: tuple[Path, Path]) -> None:
    full, deid = synth_pair
    original = read(full)
    text = "\n".join((deid / s.filename).read_text(encoding="utf-8") for s in FILES.values())
    ids: set[str] = set()
    for f, c in cols_tagged("record_id"):
        ids |= {r[c] for r in original[f] if r[c]}
    assert len(ids) > 100  # the check below looks at something real
    assert sorted(v for v in ids if v in text) == []  # not even as a substring
    out = read(deid)
    prose = {r[c] for f, c in cols_tagged("free_text") for r in original[f] if r[c]}
    assert prose
    for f, c in cols_tagged("free_text"):
        assert all(r[c] == "" for r in out[f]), (f, c)
    # Free text may coincide with a code ("other"); it must not survive in any text cell.
    text_cells = {
        r[c.name] for f, s in FILES.items() for c in s.columns if c.type == "str" for r in out[f]
    }
    assert prose.isdisjoint(text_cells)
    for f, c in cols_tagged("record_id"):
        assert all(re.fullmatch(r"[PTI]-[0-9a-f]{16}", r[c]) for r in out[f] if r[c]), (f, c)


def test_every_date_of_a_patient_moves_by_one_offset_within_364_days(
    synth_pair: tuple[Path, Path],
) -> None:
    """Row-by-row: pair each original row with its de-identified row through the pseudonym
    mapping (recomputed with the key), then check date − shifted date is the patient's offset."""
    full, deid = synth_pair
    p = Pseudonymiser(KEY)
    original, out = read(full), read(deid)

    def pseud(ns: str, v: str) -> str:
        return p.pseudonym(ns, v) if v else ""

    # Owner of each tumour / intervention, from the original folder.
    tumour_owner = {r["tumour_id"]: r["patient_id"] for r in original["tumours"]}
    iv_owner = {r["intervention_id"]: r["patient_id"] for r in original["interventions"]}
    offsets: dict[str, set[int]] = {}
    checked = 0
    for name, spec in FILES.items():
        dates = [c.name for c in spec.columns if c.phi == "date"]
        ids = [c for c in spec.columns if c.phi == "record_id"]
        # complications share intervention_id: keep their order (the key's `seq`)
        by_key: dict[tuple[str, ...], list[dict[str, str]]] = {}
        for r in out[name]:
            by_key.setdefault(tuple(r[c.name] for c in ids), []).append(r)
        seen: dict[tuple[str, ...], int] = {}
        for r in original[name]:
            k = tuple(pseud(c.references or f"{name}.{c.name}", r[c.name]) for c in ids)
            i = seen.get(k, 0)
            seen[k] = i + 1
            twin = by_key[k][i]
            for c in spec.columns:
                if c.phi is None:
                    assert twin[c.name] == r[c.name], (name, c.name)  # coded values unchanged
            owner = (
                r.get("patient_id")
                or tumour_owner.get(r.get("tumour_id", ""))
                or iv_owner.get(r.get("intervention_id", ""))
            )
            for d in dates:
                assert (r[d] == "") == (twin[d] == "")
                if r[d]:
                    assert owner
                    delta = (dt.date.fromisoformat(r[d]) - dt.date.fromisoformat(twin[d])).days
                    offsets.setdefault(owner, set()).add(delta)
                    checked += 1
    assert checked > 500
    assert all(len(v) == 1 for v in offsets.values()), "a patient's dates moved by different days"
    flat = [next(iter(v)) for v in offsets.values()]
    assert all(1 <= d <= MAX_SHIFT_DAYS for d in flat)
    assert len(set(flat)) > len(flat) // 2  # per patient, not one global shift


def test_every_pairwise_interval_of_a_patient_is_identical(synth_pair: tuple[Path, Path]) -> None:
    """The brief's property stated directly: for every patient, the multiset of day
    differences between all pairs of their dates is the same before and after."""
    full, deid = synth_pair

    def dates_by_patient(folder: Path) -> dict[str, list[dt.date]]:
        t = read(folder)
        tumour_owner = {r["tumour_id"]: r["patient_id"] for r in t["tumours"]}
        iv_owner = {r["intervention_id"]: r["patient_id"] for r in t["interventions"]}
        out: dict[str, list[dt.date]] = {}
        for name, spec in FILES.items():
            for r in t[name]:
                owner = (
                    r.get("patient_id")
                    or tumour_owner.get(r.get("tumour_id", ""))
                    or iv_owner.get(r.get("intervention_id", ""))
                )
                for c in spec.columns:
                    if c.phi == "date" and r[c.name]:
                        assert owner
                        out.setdefault(owner, []).append(dt.date.fromisoformat(r[c.name]))
        return out

    def signature(dates: list[dt.date]) -> tuple[int, ...]:
        s = sorted(dates)
        return tuple(sorted((b - a).days for a, b in combinations(s, 2)))

    before = sorted(signature(d) for d in dates_by_patient(full).values())
    after = sorted(signature(d) for d in dates_by_patient(deid).values())
    assert before == after
    assert len(before) == 60


def test_deidentified_folder_reimports_and_validates(
    synth_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    _, deid = synth_pair
    engine = make_engine(f"sqlite:///{tmp_path / 'again.db'}")
    upgrade(engine)
    result = import_folder(engine, deid, actor="test")
    assert result.written, result.report.render()
    assert not result.report.errors
    assert result.counts["patients"]["inserted"] == 60
    # exporting the re-imported data gives the de-identified files back byte for byte
    export_folder(engine, tmp_path / "round")
    for spec in FILES.values():
        assert (tmp_path / "round" / spec.filename).read_bytes() == (
            deid / spec.filename
        ).read_bytes(), spec.filename
    engine.dispose()


def test_salvage_study_runs_on_the_deidentified_registry(
    synth_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    """Lineage and recurrence-free survival depend only on within-patient order and
    intervals, so the salvage cohort and its RFS are the same as on the original."""
    docs = []
    for folder in synth_pair:
        engine = make_engine(f"sqlite:///{tmp_path / (folder.name + '.db')}")
        upgrade(engine)
        assert import_folder(engine, folder, actor="test").written
        docs.append(salvage_study(salvage_frames(engine), None, None, MDRD).to_json_dict())
        engine.dispose()
    original, deidentified = docs
    assert original["n_salvage"] > 0
    for key in ("n_surgical_patients", "n_salvage", "rfs"):
        assert deidentified[key] == original[key], key


# --------------------------------------------------------------------------- keys


def test_same_key_same_bytes_other_key_unlinkable(tmp_path: Path) -> None:
    src = write_folder(tmp_path / "reg", base_rows())
    a = deidentify_folder(src, tmp_path / "a", KEY)
    deidentify_folder(src, tmp_path / "b", KEY)
    deidentify_folder(src, tmp_path / "c", OTHER_KEY)
    assert a.patients == 2 and a.rows["labs"] == 3
    for spec in FILES.values():
        assert (tmp_path / "a" / spec.filename).read_bytes() == (
            tmp_path / "b" / spec.filename
        ).read_bytes()
    ids_a = {r["patient_id"] for r in read(tmp_path / "a")["patients"]}
    ids_c = {r["patient_id"] for r in read(tmp_path / "c")["patients"]}
    assert ids_a.isdisjoint(ids_c)
    births_a = [r["birth_date"] for r in read(tmp_path / "a")["patients"]]
    births_c = [r["birth_date"] for r in read(tmp_path / "c")["patients"]]
    assert births_a != births_c


def test_offsets_differ_between_patients_and_keys() -> None:
    p, q = Pseudonymiser(KEY), Pseudonymiser(OTHER_KEY)
    ids = [f"PAT{i:04d}" for i in range(200)]
    shifts = [p.shift_days(i) for i in ids]
    assert len(set(shifts)) > 100
    assert shifts != [q.shift_days(i) for i in ids]
    assert p.pseudonym("patients.patient_id", "X") != p.pseudonym("tumours.tumour_id", "X")


@settings(max_examples=200, deadline=None)
@given(
    key=st.binary(min_size=16, max_size=64),
    patient=st.text(min_size=1, max_size=64),
    d1=st.dates(min_value=dt.date(1900, 1, 1)),
    d2=st.dates(min_value=dt.date(1900, 1, 1)),
)
def test_shift_property(key: bytes, patient: str, d1: dt.date, d2: dt.date) -> None:
    """For any key and patient: offset in 1..364, deterministic, and intervals unchanged."""
    p = Pseudonymiser(key)
    back = p.shift_days(patient)
    assert 1 <= back <= MAX_SHIFT_DAYS
    assert back == Pseudonymiser(key).shift_days(patient)
    s1, s2 = d1 - dt.timedelta(days=back), d2 - dt.timedelta(days=back)
    assert (s2 - s1) == (d2 - d1)
    assert s1 < d1


# ------------------------------------------------------------------------ refusals


def test_unknown_column_is_refused_not_copied(tmp_path: Path) -> None:
    src = write_folder(tmp_path / "reg", base_rows())
    lines = (src / "patients.csv").read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ",mrn"] + [ln + ",H123456" for ln in lines[1:]]
    (src / "patients.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DeidentifyError, match=r"patients\.csv: unknown column\(s\) 'mrn'"):
        deidentify_folder(src, tmp_path / "out", KEY)
    assert not (tmp_path / "out").exists()  # refused before anything is written


def test_weak_key_refused(tmp_path: Path) -> None:
    short = tmp_path / "key"
    short.write_text("short\n")
    with pytest.raises(DeidentifyError, match=r"--key-file: .* holds 5 bytes"):
        load_key(short)
    with pytest.raises(DeidentifyError, match="cannot read"):
        load_key(tmp_path / "missing")
    with pytest.raises(DeidentifyError, match="key: too short"):
        Pseudonymiser(b"abc")


def test_export_is_audited_without_the_key(engine: Engine, folder: Path) -> None:
    assert import_folder(engine, folder, actor="test").written
    done = export_deidentified(engine, folder.parent / "deid", KEY)
    record_export(engine, "web:rhea", deidentified=True, rows=done.rows)
    row = next(audit.log_rows(engine, entity="registry", limit=1))
    assert (row["actor"], row["action"], row["entity_id"]) == ("web:rhea", "export", "deidentified")
    assert json.loads(str(row["new"]))["rows"]["patients"] == 2
    assert KEY.decode() not in str(row["new"])
    assert audit.verify(engine).ok


# ---------------------------------------------------------------------------- CLI


def test_cli_export_deidentify(cli: Run, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert cli("db", "init", "--db", db).returncode == 0
    src = write_folder(tmp_path / "reg", base_rows())
    assert cli("import", str(src), "--db", db).returncode == 0
    key = tmp_path / "key"
    key.write_bytes(KEY + b"\n")
    done = cli(
        "export", str(tmp_path / "d1"), "--deidentify", "--key-file", str(key), "--db", db, "--json"
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["deidentified"] is True and doc["rows"]["patients"] == 2
    # the key file is the same key as the library's: same bytes as a library export
    deidentify_folder(src, tmp_path / "lib", KEY)
    for spec in FILES.values():
        assert (tmp_path / "d1" / spec.filename).read_bytes() == (
            tmp_path / "lib" / spec.filename
        ).read_bytes(), spec.filename
    text = (tmp_path / "d1" / "patients.csv").read_text()
    assert "P1" not in text.replace("P-", "") and "1950-01-01" not in text
    # no key: refused (one-off keys would make exports comparable); the configured key file
    # gives the same bytes as --key-file
    once = cli("export", str(tmp_path / "d2"), "--deidentify", "--db", db)
    assert once.returncode == 1 and "persistent key is required" in once.stderr
    assert not (tmp_path / "d2").exists()
    env = cli(
        "export",
        str(tmp_path / "d5"),
        "--deidentify",
        "--db",
        db,
        env={"RENALPATH_DEID_KEY_FILE": str(key)},
    )
    assert env.returncode == 0, env.stderr
    assert (tmp_path / "d5" / "labs.csv").read_bytes() == (
        tmp_path / "d1" / "labs.csv"
    ).read_bytes()
    log = json.loads(cli("audit", "log", "--entity", "registry", "--json", "--db", db).stdout)
    assert [r["action"] for r in log] == ["export", "export"]
    assert cli("audit", "verify", "--db", db).returncode == 0
    # usage and refusals
    usage = cli("export", str(tmp_path / "d3"), "--key-file", str(key), "--db", db)
    assert usage.returncode == 2 and "--key-file" in usage.stderr
    key.write_text("weak")
    weak = cli("export", str(tmp_path / "d4"), "--deidentify", "--key-file", str(key), "--db", db)
    assert weak.returncode == 1 and "at least 16" in weak.stderr
    assert all(ISO.match(r["birth_date"]) for r in read(tmp_path / "d1")["patients"])
