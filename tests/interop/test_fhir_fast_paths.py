"""The cheaper paths of the FHIR import give what the plain ones gave: the registry folder's
files, the fast validator's verdicts once it stops remembering shapes, and the cyclic garbage
collector's state around the read and the registry import."""

from __future__ import annotations

import copy
import csv
import gc
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

from renalpath.interop.fhir import fastcheck, importer
from renalpath.interop.fhir.fastcheck import FastValidator
from renalpath.interop.fhir.importer import FhirReadResult, fhir_problem, write_folder
from renalpath.registry.dictionary import FILES
from tests.interop.test_fhir_fastcheck import _own_export, _write_ndjson

Resource = dict[str, Any]


def _dict_writer_files(result: FhirReadResult, folder: Path) -> dict[str, str]:
    """The registry folder as `csv.DictWriter` wrote it before (the reference)."""
    folder.mkdir()
    for name, spec in FILES.items():
        with (folder / spec.filename).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(spec.column_names), lineterminator="\n")
            writer.writeheader()
            writer.writerows(result.rows[name])
    return {p.name: p.read_text("utf-8") for p in sorted(folder.iterdir())}


def _awkward_rows() -> FhirReadResult:
    """Rows whose cells need quoting (commas, quotes, line breaks, blanks, non-ASCII)."""
    result = FhirReadResult()
    cells = ["", "plain", "a,b", 'say "x"', "two\nlines", " padded ", "ü", "x\r\ny"]
    for name, spec in FILES.items():
        for n, cell in enumerate(cells):
            row = {col: f"{cell}{n}" if i % 2 else cell for i, col in enumerate(spec.column_names)}
            result.rows[name].append(row)
    return result


def test_the_registry_folder_is_what_dict_writer_wrote(tmp_path: Path) -> None:
    result = _awkward_rows()
    write_folder(result, tmp_path / "fast")
    written = {p.name: p.read_text("utf-8") for p in sorted((tmp_path / "fast").iterdir())}
    assert written == _dict_writer_files(result, tmp_path / "reference")


def test_rows_without_exactly_the_columns_are_written_as_dict_writer_does(
    tmp_path: Path,
) -> None:
    """A row lacking a column gets it blank; a row with a column too many is refused, as
    DictWriter refuses it (never dropped silently)."""
    result = _awkward_rows()
    short = dict(result.rows["patients"][1])
    del short["sex"]
    result.rows["patients"].append(short)
    write_folder(result, tmp_path / "fast")
    written = {p.name: p.read_text("utf-8") for p in sorted((tmp_path / "fast").iterdir())}
    assert written == _dict_writer_files(result, tmp_path / "reference")

    long = dict(result.rows["labs"][0], extra="x")
    result.rows["labs"].append(long)
    with pytest.raises(ValueError, match="extra"):
        write_folder(result, tmp_path / "again")


def test_verdicts_stay_right_once_no_shape_is_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past `MAX_SHAPES` a new shape is neither remembered nor planned: every resource of it
    is validated in full, with the same verdicts."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = _own_export(Path(tmp))
    monkeypatch.setattr(fastcheck, "MAX_SHAPES", 0)
    fast = FastValidator(fhir_problem)
    bad = copy.deepcopy(next(r for r in corpus if r["resourceType"] == "Patient"))
    bad["birthDate"] = "1950-02-30"
    for res in [*corpus, *corpus, bad]:
        assert fast.problem(copy.deepcopy(res)) == fhir_problem(res)
    assert fast.fast == 0 and fast.slow == 2 * len(corpus) + 1


def test_several_new_values_in_a_known_shape_are_each_checked() -> None:
    """A planned shape with more than one value never seen: a resource passes only when
    every one of them passes (whichever is checked first)."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = _own_export(Path(tmp))
    patient = next(r for r in corpus if r["resourceType"] == "Patient")
    fast = FastValidator(fhir_problem)
    assert fast.problem(copy.deepcopy(patient)) == ""
    for field in ("id", "birthDate"):
        for good in (True, False):
            res = copy.deepcopy(patient)
            res["id"] = "another-id-1"
            res["birthDate"] = "1961-07-14"
            if not good:
                res[field] = "bad id!" if field == "id" else "1961-02-30"
            assert fast.problem(res) == fhir_problem(res)
            assert (fast.problem(res) == "") == good
            fast._passed.clear()  # every value new again


def test_the_optimistic_read_pauses_the_collector_and_restores_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        resources = _own_export(Path(tmp))[:-1]
    folder = _write_ndjson(tmp_path / "in", resources, [])
    seen: list[bool] = []
    read = importer._read

    def spy(*args: Any, **kwargs: Any) -> FhirReadResult:
        seen.append(gc.isenabled())
        return read(*args, **kwargs)

    monkeypatch.setattr(importer, "_read", spy)
    assert gc.isenabled()
    importer._read_optimistic(folder)
    assert seen == [False] and gc.isenabled()

    def fails(*args: Any, **kwargs: Any) -> FhirReadResult:
        raise importer._Refused

    monkeypatch.setattr(importer, "_read", fails)
    with pytest.raises(importer._Refused):
        importer._read_optimistic(folder)
    assert gc.isenabled()
    gc.disable()
    try:
        with importer.collector_paused():
            pass
        assert not gc.isenabled(), "a collector that was off was switched on"
    finally:
        gc.enable()


@pytest.mark.parametrize("refused", [False, True])
def test_the_cli_sets_the_read_aside_from_collections_and_puts_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refused: bool
) -> None:
    from renalpath.cli import fhir_hook
    from tests.conftest import run_cli

    with tempfile.TemporaryDirectory() as tmp:
        resources = _own_export(Path(tmp))[:-1]
    if refused:
        next(r for r in resources if r["resourceType"] == "Observation")["status"] = "final "
    folder = _write_ndjson(tmp_path / "in", resources, [])
    frozen: list[int] = []
    import_read = fhir_hook._import_read

    def spy(*args: Any) -> None:
        frozen.append(gc.get_freeze_count())
        import_read(*args)

    monkeypatch.setattr(fhir_hook, "_import_read", spy)
    args = ("--format", "fhir", "--reason", "test", "--user", "test", "--json")
    done = run_cli("import", str(folder), *args, "--db", f"sqlite:///{tmp_path / 'r.db'}")
    assert done.returncode == (1 if refused else 0), done.stderr
    if not refused:
        assert json.loads(done.stdout)["written"]
    assert len(frozen) == 1 and frozen[0] > 0
    assert gc.get_freeze_count() == 0


def test_the_cli_leaves_a_heap_the_caller_had_set_aside_as_it_was(tmp_path: Path) -> None:
    """A longer-lived process that set its own heap aside (as the web server's warm-up
    does) keeps it so after running an import: `gc.unfreeze` would release its objects
    with the read's."""
    from tests.conftest import run_cli

    with tempfile.TemporaryDirectory() as tmp:
        resources = _own_export(Path(tmp))[:-1]
    folder = _write_ndjson(tmp_path / "in", resources, [])
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        args = ("--format", "fhir", "--reason", "test", "--user", "test", "--json")
        done = run_cli("import", str(folder), *args, "--db", f"sqlite:///{tmp_path / 'r.db'}")
        assert done.returncode == 0, done.stderr
        assert gc.get_freeze_count() >= before > 0
    finally:
        gc.unfreeze()
