"""TNM 8 T category and stage group."""

from __future__ import annotations

from pydantic import Field

from renalpath.calculators.base import Calculator, Request
from renalpath.clinical import staging


class TnmRequest(Request):
    size_mm: float | None = Field(
        None, description="Greatest tumour dimension in mm, 1–400 (T1a ≤ 40, T1b ≤ 70, T2a ≤ 100)"
    )
    t: str | None = Field(
        None, description="T category instead of/in addition to size: T1a…T4 (c/p prefix ok)"
    )
    n: str | None = Field(None, description="N0 | N1 | NX (c/p prefix ok)")
    m: str | None = Field(None, description="M0 | M1 (c/p prefix ok)")
    renal_vein: bool = Field(False, description="Renal vein or segmental branches (T3a)")
    pelvicalyceal: bool = Field(False, description="Invades pelvicalyceal system (T3a)")
    perirenal_fat: bool = Field(False, description="Perirenal fat invasion (T3a)")
    sinus_fat: bool = Field(False, description="Renal sinus fat invasion (T3a)")
    ivc_below_diaphragm: bool = Field(False, description="Vena cava below diaphragm (T3b)")
    ivc_above_diaphragm: bool = Field(False, description="Vena cava above diaphragm (T3c)")
    ivc_wall: bool = Field(False, description="Invades the wall of the vena cava (T3c)")
    beyond_gerota: bool = Field(False, description="Beyond Gerota fascia (T4)")
    adrenal_contiguous: bool = Field(
        False, description="Contiguous ipsilateral adrenal invasion (T4)"
    )


CALCULATORS: dict[str, Calculator] = {
    c.name: c
    for c in (
        Calculator(
            "tnm",
            "TNM 8 stage",
            TnmRequest,
            lambda v: staging.tnm(**v).to_dict(),
            lambda p: f"{p['t']} {p['n']} {p['m']} — stage {p['stage_group']}",
            staging.SPEC,
            "AJCC/UICC 8 T category (size in mm 1–400 plus extension) and stage group I–IV.",
        ),
    )
}
