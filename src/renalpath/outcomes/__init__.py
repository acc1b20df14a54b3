"""outcomes layer: cohorts, Table 1, perioperative, renal function, survival.

Every analysis is a pure function of `RegistryFrames` (one DataFrame per registry table) and
returns dataclasses with a strict-JSON `to_json_dict()`; the CLI, web and report layers only
wire and render them. `load_frames(db_url, window_from, window_to)` (outcomes.source) loads
frames from a registry database for notebook use; see that module for the SQL-filtered loaders.

The names below are imported on first use, not with the package: `renalpath study --help`
imports `outcomes.study_options` (the endpoints and grouping fields it lists) and must not pull
in pandas, SciPy and lifelines with it (tests/test_cli_lazy.py).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from renalpath.outcomes.cohorts import CohortSpec, build_cohort
    from renalpath.outcomes.salvage import SalvageStudy, salvage_study
    from renalpath.outcomes.source import load_frames, salvage_frames, survival_frames
    from renalpath.outcomes.survival_by_group import SurvivalStudy, survival_study
    from renalpath.outcomes.table1 import table_one
    from renalpath.registry.frames import RegistryFrames

_WHERE: dict[str, str] = {
    "CohortSpec": "renalpath.outcomes.cohorts",
    "build_cohort": "renalpath.outcomes.cohorts",
    "RegistryFrames": "renalpath.registry.frames",
    "SalvageStudy": "renalpath.outcomes.salvage",
    "salvage_study": "renalpath.outcomes.salvage",
    "SurvivalStudy": "renalpath.outcomes.survival_by_group",
    "survival_study": "renalpath.outcomes.survival_by_group",
    "load_frames": "renalpath.outcomes.source",
    "salvage_frames": "renalpath.outcomes.source",
    "survival_frames": "renalpath.outcomes.source",
    "table_one": "renalpath.outcomes.table1",
}

__all__ = [
    "CohortSpec",
    "RegistryFrames",
    "SalvageStudy",
    "SurvivalStudy",
    "build_cohort",
    "load_frames",
    "salvage_frames",
    "salvage_study",
    "survival_frames",
    "survival_study",
    "table_one",
]


def __getattr__(name: str) -> Any:
    """Import the module defining `name` when it is first asked for (PEP 562)."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
