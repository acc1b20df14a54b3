"""Same seed → byte-identical registry folder; a different seed → a different one."""

from __future__ import annotations

import hashlib
from pathlib import Path

from renalpath.registry.dictionary import FILES
from renalpath.synth.writer import write_registry


def _digests(folder: Path) -> dict[str, str]:
    return {
        spec.filename: hashlib.sha256((folder / spec.filename).read_bytes()).hexdigest()
        for spec in FILES.values()
    }


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    write_registry(tmp_path / "a", 400, seed=11)
    write_registry(tmp_path / "b", 400, seed=11)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")


def test_different_seed_gives_different_files(tmp_path: Path) -> None:
    write_registry(tmp_path / "a", 400, seed=11)
    write_registry(tmp_path / "b", 400, seed=12)
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    assert a["patients.csv"] != b["patients.csv"]
    assert a["labs.csv"] != b["labs.csv"]


def test_smaller_cohort_is_a_prefix_of_a_larger_one(tmp_path: Path) -> None:
    """Patient k does not depend on N: one stream, consumed patient by patient."""
    write_registry(tmp_path / "small", 50, seed=3)
    write_registry(tmp_path / "large", 120, seed=3)
    for name in ("patients.csv", "interventions.csv", "labs.csv"):
        small = (tmp_path / "small" / name).read_text(encoding="utf-8")
        large = (tmp_path / "large" / name).read_text(encoding="utf-8")
        assert large.startswith(small), name
        assert len(large) > len(small), name


def test_zero_patients_gives_headers_only(tmp_path: Path) -> None:
    summary = write_registry(tmp_path / "empty", 0, seed=1)
    assert all(count == 0 for count in summary.rows.values())
    for spec in FILES.values():
        lines = (tmp_path / "empty" / spec.filename).read_text(encoding="utf-8").splitlines()
        assert lines == [",".join(spec.column_names)]
