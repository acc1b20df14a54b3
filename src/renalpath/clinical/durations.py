"""Calendar lengths used to turn day counts into years and months, and age, defined once.

Why here: the clinical layer is the lowest layer, so the growth calculator, the registry's
derived columns, the outcomes studies, the reports and the synthetic generator can all import
these without pulling anything heavier. A year is the mean Julian year (365.25 days) and a month
one twelfth of it (30.4375 days), the convention of survival reporting in months; every
"months" figure the project prints (follow-up, survival medians, estimates at 12/24/60 months)
is days ÷ DAYS_PER_MONTH.

Ages are in completed years (the age a patient states, and the one the eGFR equations and the
guideline's age thresholds take): `completed_years`; its vectorised twin for pandas columns is
`registry.derived.age_completed_years`.
"""

from __future__ import annotations

import datetime as dt

DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = DAYS_PER_YEAR / 12  # 30.4375


def days_to_months(days: float) -> float:
    """Days → months (days ÷ 30.4375)."""
    return days / DAYS_PER_MONTH


def completed_years(birth: dt.date, on: dt.date) -> int:
    """Age in completed years on a date (a birthday not yet reached that year does not count).

    Takes `datetime.date` or anything with year/month/day (a pandas Timestamp)."""
    return int(on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day)))
