"""outcomes layer (design §1): cohorts, Table 1, perioperative, renal function, survival.

Every analysis is a pure function of `RegistryFrames` (one DataFrame per registry table) and
returns dataclasses with a strict-JSON `to_json_dict()`; the CLI, web and report layers only
wire and render them.
"""

from renalpath.outcomes.frames import RegistryFrames
from renalpath.outcomes.salvage import SalvageStudy, salvage_study
from renalpath.outcomes.survival_study import SurvivalStudy, survival_study

__all__ = ["RegistryFrames", "SalvageStudy", "SurvivalStudy", "salvage_study", "survival_study"]
