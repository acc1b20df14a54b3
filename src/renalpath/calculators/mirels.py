"""Mirels score for an impending pathological fracture."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from renalpath.calculators.base import Calculator, Request, score_headline
from renalpath.clinical import mirels as mirels_mod


class MirelsRequest(Request):
    site: Literal["upper_limb", "lower_limb", "peritrochanteric"] | None = Field(
        None, description="upper_limb (1) | lower_limb (2) | peritrochanteric (3)"
    )
    pain: Literal["mild", "moderate", "functional"] | None = Field(
        None, description="mild (1) | moderate (2) | functional (3)"
    )
    lesion: Literal["blastic", "mixed", "lytic"] | None = Field(
        None, description="blastic (1) | mixed (2) | lytic (3)"
    )
    cortical_fraction: Literal["lt_1_3", "1_3_to_2_3", "gt_2_3"] | None = Field(
        None,
        description="Fraction of cortical thickness involved: lt_1_3 (1) | 1_3_to_2_3 (2) | "
        "gt_2_3 (3)",
    )


CALCULATORS: dict[str, Calculator] = {
    c.name: c
    for c in (
        Calculator(
            "mirels",
            "Mirels score",
            MirelsRequest,
            lambda v: mirels_mod.mirels(
                v["site"], v["pain"], v["lesion"], v["cortical_fraction"]
            ).to_dict(),
            score_headline("Mirels"),
            mirels_mod.SPEC,
            "Mirels score (impending pathological fracture), range 4-12.\n\n"
            ">= 9 prophylactic fixation; 8 clinical judgement; <= 7 radiotherapy/observation.",
        ),
    )
}
