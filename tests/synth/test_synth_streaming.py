"""Memory stays flat as N grows: the generator is lazy and the writer writes as it goes.
Checked structurally (no timings, no RSS thresholds in unit tests)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

from renalpath.synth.generator import iter_patients
from renalpath.synth.writer import PART_SUFFIX, write_registry


def test_generator_is_lazy() -> None:
    """A billion-patient request costs nothing until iterated; one step yields one patient."""
    stream = iter_patients(1_000_000_000, seed=5)
    assert inspect.isgenerator(stream)
    assert isinstance(stream, Iterator)
    first = next(stream)
    assert len(first["patients"]) == 1
    second = next(stream)
    assert second["patients"][0]["patient_id"] != first["patients"][0]["patient_id"]


def test_writer_puts_rows_on_disk_before_the_end(tmp_path: Path) -> None:
    """Rows reach the files while later patients are still being generated."""
    sizes: dict[int, int] = {}
    part = tmp_path / ("labs.csv" + PART_SUFFIX)

    def on_patient(k: int) -> None:
        if k in (500, 1500):
            sizes[k] = part.stat().st_size

    write_registry(tmp_path, 1500, seed=9, on_patient=on_patient)
    assert 0 < sizes[500] < sizes[1500]
    assert not part.exists()  # renamed into place at the end
    assert (tmp_path / "labs.csv").stat().st_size >= sizes[1500]


def test_interrupted_run_leaves_no_registry_files(tmp_path: Path) -> None:
    def stop(k: int) -> None:
        if k == 50:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_registry(tmp_path, 100, seed=9, on_patient=stop)
    assert list(tmp_path.iterdir()) == []
