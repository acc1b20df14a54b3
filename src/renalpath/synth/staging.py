"""T category of a synthetic tumour, through the project's AJCC 8 calculator.

Synthetic tumours must carry cT/pT values that the importer's AJCC 8 consistency check accepts,
so they are labelled by `renalpath.clinical.staging.t_category` (AJCC 8: T1a ≤ 40 mm,
T1b 41–70, T2a 71–100, T2b > 100; extension overrides size) rather than by a second copy of
the cut-offs.  The generator only decides *which* extension a tumour has.
"""

from __future__ import annotations

from typing import Literal

from renalpath.clinical.staging import t_category as _ajcc_t_category

Extension = Literal["none", "T3a", "T3b", "T3c", "T4"]

# One representative extension flag per category (AJCC 8 definitions):
# T3a perirenal fat, T3b vena cava below the diaphragm, T3c above it, T4 beyond Gerota.
_FLAG = {
    "T3a": "perirenal_fat",
    "T3b": "ivc_below_diaphragm",
    "T3c": "ivc_above_diaphragm",
    "T4": "beyond_gerota",
}


def t_category(size_mm: int, extension: str) -> str:
    """AJCC 8 T category ("T1a".."T4") of a tumour of `size_mm` with the given extension."""
    if extension == "none":
        return _ajcc_t_category(size_mm)
    return _ajcc_t_category(size_mm, **{_FLAG[extension]: True})
