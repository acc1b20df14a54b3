"""Calendar lengths used to turn day counts into years and months, defined once.

Why here: the clinical layer is the lowest layer, so the growth calculator, the registry's
derived columns, the outcomes studies, the reports and the synthetic generator can all import
these without pulling anything heavier. A year is the mean Julian year (365.25 days) and a month
one twelfth of it (30.4375 days), the convention of survival reporting in months; every
"months" figure the project prints (follow-up, survival medians, estimates at 12/24/60 months)
is days ÷ DAYS_PER_MONTH.
"""

from __future__ import annotations

DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12  # 30.4375


def days_to_months(days: float) -> float:
    """Days → months (days ÷ 30.4375)."""
    return days / DAYS_PER_MONTH
