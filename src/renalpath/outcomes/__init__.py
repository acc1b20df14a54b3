"""outcomes layer: cohorts, Table 1, perioperative, renal function, survival.

Every analysis is a pure function of `RegistryFrames` (one DataFrame per registry table) and
returns dataclasses with a strict-JSON `to_json_dict()`; the CLI, web and report layers only
wire and render them. `load_frames(db_url, window_from, window_to)` (outcomes.source) loads
frames from a registry database for notebook use; see that module for the SQL-filtered loaders.
"""

from renalpath.outcomes.salvage import SalvageStudy, salvage_study
from renalpath.outcomes.source import load_frames, salvage_frames, survival_frames
from renalpath.outcomes.survival_by_group import SurvivalStudy, survival_study
from renalpath.registry.frames import RegistryFrames

__all__ = [
    "RegistryFrames",
    "SalvageStudy",
    "SurvivalStudy",
    "load_frames",
    "salvage_frames",
    "salvage_study",
    "survival_frames",
    "survival_study",
]
