"""Active-surveillance growth rate."""

from __future__ import annotations

from pydantic import Field

from renalpath.calculators.base import Calculator, Request
from renalpath.clinical import growth as growth_mod


class GrowthRequest(Request):
    size1_mm: float | None = Field(None, description="Diameter on the reference scan in mm, 1–400")
    size2_mm: float | None = Field(None, description="Diameter on the later scan in mm, 1–400")
    interval_days: float | None = Field(None, description="Days between the scans, ≥ 180")


CALCULATORS: dict[str, Calculator] = {
    c.name: c
    for c in (
        Calculator(
            "growth",
            "Growth rate (active surveillance)",
            GrowthRequest,
            lambda v: growth_mod.growth_rate(**v).to_dict(),
            lambda p: f"{p['mm_per_year']:.2f} mm/year",
            growth_mod.SPEC,
            "Active-surveillance growth rate in mm/year (fast growth ≥ 5 mm/year).",
        ),
    )
}
