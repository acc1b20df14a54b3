"""Prognostic scores for RCC in one import: Leibovich 2003, SSIGN, IMDC, MSKCC 2002.

Each score lives in its own module (named for the model) with its point table, sources and
`SPEC`; this module only gathers them, as the calculator API contract promises.
"""

from __future__ import annotations

from renalpath.clinical.calcium import corrected_calcium, corrected_calcium_result
from renalpath.clinical.imdc import SPEC as IMDC_SPEC
from renalpath.clinical.imdc import imdc
from renalpath.clinical.leibovich import SPEC as LEIBOVICH_SPEC
from renalpath.clinical.leibovich import leibovich
from renalpath.clinical.mskcc import SPEC as MSKCC_SPEC
from renalpath.clinical.mskcc import mskcc
from renalpath.clinical.scores import ScoreResult
from renalpath.clinical.ssign import SPEC as SSIGN_SPEC
from renalpath.clinical.ssign import ssign

__all__ = [
    "IMDC_SPEC",
    "LEIBOVICH_SPEC",
    "MSKCC_SPEC",
    "SSIGN_SPEC",
    "ScoreResult",
    "corrected_calcium",
    "corrected_calcium_result",
    "imdc",
    "leibovich",
    "mskcc",
    "ssign",
]
