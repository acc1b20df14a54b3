"""Growth rate of a small renal mass on active surveillance (linear growth rate, SRM-AS-P).

A rate from two scans a few weeks apart is dominated by measurement error, so the protocol
computes it only over ≥ 180 days; shorter intervals are refused rather than reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from renalpath.clinical import durations
from renalpath.clinical.common import (
    CalcResult,
    CalculatorSpec,
    ClinicalInputError,
    InputSpec,
    Problem,
    Source,
    require_range,
)

# active surveillance of small renal masses [P]: years = days / 365.25; compute only when interval ≥
# 180 days.
DAYS_PER_YEAR = durations.DAYS_PER_YEAR  # 365.25, defined once
MIN_INTERVAL_DAYS = 180
# active surveillance of small renal masses [V: AUA 2017 via PMC8261444 Table 1]: growth ≥ 5 mm/year
# triggers
# consideration of intervention.
FAST_GROWTH_MM_PER_YEAR = 5.0
# valid input range: tumour diameter 1–400 mm.
SIZE_MM_MIN, SIZE_MM_MAX = 1.0, 400.0

SPEC = CalculatorSpec(
    id="as-growth-rate",
    name="Small renal mass growth rate (active surveillance)",
    version="1",
    formula="rate (mm/year) = (d2 − d1) mm ÷ (interval days ÷ 365.25)",
    inputs=(
        InputSpec("size1_mm", "mm", "1–400", "greatest diameter on the reference scan"),
        InputSpec("size2_mm", "mm", "1–400", "greatest diameter on the later scan"),
        InputSpec("interval_days", "days", f"≥ {MIN_INTERVAL_DAYS}", "between the two scans"),
    ),
    bands=(
        f"≥ {FAST_GROWTH_MM_PER_YEAR:g} mm/year: fast growth — consider intervention (SRM-AS-P)",
        f"< {FAST_GROWTH_MM_PER_YEAR:g} mm/year: below the growth trigger",
    ),
    sources=(
        Source(
            "AUA 2017 renal mass guideline, active-surveillance triggers (via PMC8261444 Table 1)",
            "active surveillance of small renal masses",
            "",
            "V",
        ),
        Source(
            "Interval ≥ 180 days and 365.25 days/year",
            "active surveillance of small renal masses",
            "",
            "P",
        ),
    ),
    notes=(
        "Compare scans of the same modality (SRM-AS-P [P]); the calculator cannot check this.",
        "Other triggers (size > 40 mm, stage progression, symptoms) are evaluated by the pathway.",
    ),
)


@dataclass(frozen=True)
class GrowthResult(CalcResult):
    mm_per_year: float
    fast_growth: bool
    size1_mm: float
    size2_mm: float
    interval_days: float


def growth_rate(size1_mm: float, size2_mm: float, interval_days: float) -> GrowthResult:
    """Linear diameter growth in mm/year between two scans."""
    problems: list[Problem] = []
    sizes: list[float] = []
    for name, value in (("size1_mm", size1_mm), ("size2_mm", size2_mm)):
        try:
            sizes.append(require_range(name, value, SIZE_MM_MIN, SIZE_MM_MAX, "mm"))
        except ClinicalInputError as err:
            problems.extend(err.problems)
    days_ok = (
        isinstance(interval_days, int | float)
        and not isinstance(interval_days, bool)
        and math.isfinite(interval_days)
        and interval_days >= MIN_INTERVAL_DAYS
    )
    if not days_ok:
        hint = None
        if interval_days is None:
            hint = "value is required"
        elif isinstance(interval_days, int | float) and 0 < interval_days < MIN_INTERVAL_DAYS:
            hint = "growth rate is computed only over ≥ 180 days (SRM-AS-P)"
        problems.append(
            Problem("interval_days", interval_days, f"≥ {MIN_INTERVAL_DAYS} days", hint)
        )
    if problems:
        raise ClinicalInputError(problems)
    d1, d2 = sizes
    # linear growth rate: rate = (d2 − d1) ÷ Δt years, Δt = days / 365.25 [P]
    rate = (d2 - d1) / (float(interval_days) / DAYS_PER_YEAR)
    fast = rate >= FAST_GROWTH_MM_PER_YEAR
    return GrowthResult(
        calculator_id=SPEC.id,
        version=SPEC.version,
        band="fast growth (≥ 5 mm/year)" if fast else "below growth trigger (< 5 mm/year)",
        sources=SPEC.sources,
        flags=("growth_trigger",) if fast else (),
        mm_per_year=rate,
        fast_growth=fast,
        size1_mm=d1,
        size2_mm=d2,
        interval_days=float(interval_days),
    )
