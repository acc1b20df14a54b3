"""`renalpath synth` through the real console script (CLI exit codes exit codes)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

from renalpath.registry.dictionary import FILES

Cli = Callable[..., CompletedProcess[str]]


def test_synth_writes_every_file_and_reports_json(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = cli("synth", "--patients", "120", "--seed", "4", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)  # nothing but JSON on stdout
    assert payload["patients"] == 120 and payload["seed"] == 4
    for spec in FILES.values():
        lines = (out / spec.filename).read_text(encoding="utf-8").splitlines()
        assert lines[0] == ",".join(spec.column_names)
        assert payload["rows"][spec.name] == len(lines) - 1
    assert payload["rows"]["patients"] == 120


def test_two_processes_same_seed_identical_bytes(cli: Cli, tmp_path: Path) -> None:
    """Across processes too (no dependence on hash randomisation or wall-clock time)."""
    for name in ("a", "b"):
        proc = cli("synth", "--patients", "150", "--seed", "8", "--out", str(tmp_path / name))
        assert proc.returncode == 0, proc.stderr
    for spec in FILES.values():
        assert (tmp_path / "a" / spec.filename).read_bytes() == (
            tmp_path / "b" / spec.filename
        ).read_bytes()


def test_existing_registry_folder_is_refused_without_force(cli: Cli, tmp_path: Path) -> None:
    out = str(tmp_path / "demo")
    assert cli("synth", "--patients", "5", "--out", out).returncode == 0
    before = (tmp_path / "demo" / "patients.csv").read_bytes()
    proc = cli("synth", "--patients", "7", "--seed", "2", "--out", out)
    assert proc.returncode == 1
    assert "--out" in proc.stderr and "--force" in proc.stderr
    assert (tmp_path / "demo" / "patients.csv").read_bytes() == before  # untouched
    proc = cli("synth", "--patients", "7", "--seed", "2", "--out", out, "--force")
    assert proc.returncode == 0, proc.stderr
    assert len((tmp_path / "demo" / "patients.csv").read_text().splitlines()) == 8


def test_bad_arguments_are_usage_errors(cli: Cli, tmp_path: Path) -> None:
    assert cli("synth", "--patients", "0", "--out", str(tmp_path / "x")).returncode == 2
    assert cli("synth", "--patients", "5", "--seed", "-1", "--out", str(tmp_path)).returncode == 2
    assert cli("synth", "--out", str(tmp_path / "y")).returncode == 2  # --patients missing


def test_out_pointing_at_a_file_is_refused(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("x")
    proc = cli("synth", "--patients", "5", "--out", str(target))
    assert proc.returncode == 1
    assert "not a folder" in proc.stderr
