"""Any seed gives a folder the registry validator accepts without a single issue (errors or
kidney-specific warnings): rare paths (perioperative death, dialysis, salvage of a salvage)
turn up across seeds, so the property is checked over many small cohorts."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renalpath.synth.writer import write_registry

validate = pytest.importorskip(
    "renalpath.registry.validate", reason="registry validator not available yet"
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**63 - 1))
def test_every_seed_validates_cleanly(seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_registry(folder, 80, seed=seed)
        report, _typed, _ref = validate.validate_folder(folder)
        assert [issue.text() for issue in report.issues] == []
