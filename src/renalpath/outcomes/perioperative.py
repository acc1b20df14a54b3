"""Perioperative summaries: ischaemia, blood loss, margins, complications, pT distribution.

Shapes follow the salvage-study JSON contract: continuous measures as
{n, mean, sd, median, min, max}; counts as {category: n}. Missing values are left out of the
summary and counted, never imputed; an empty input gives n = 0 and nulls, never NaN.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from renalpath.clinical.clavien_dindo import GRADES, is_major


def _f(value: object) -> float | None:
    if value is None:
        return None
    out = float(value)  # type: ignore[arg-type]
    return out if math.isfinite(out) else None


def describe(values: pd.Series) -> dict[str, Any]:
    """{n, mean, sd (n − 1), median, min, max, missing_n} of the non-missing values."""
    x = pd.to_numeric(values, errors="raise").dropna().astype(float)
    n = len(x)
    return {
        "n": n,
        "mean": _f(x.mean()) if n else None,
        "sd": _f(x.std(ddof=1)) if n >= 2 else None,
        "median": _f(x.median()) if n else None,
        "min": _f(x.min()) if n else None,
        "max": _f(x.max()) if n else None,
        "missing_n": int(values.isna().sum()),
    }


def counts(values: pd.Series, missing_label: str = "unknown") -> dict[str, int]:
    """Category → n, missing values under `missing_label`, most frequent first."""
    filled = values.astype(object).where(values.notna(), missing_label)
    vc = filled.value_counts(sort=False)
    ordered = sorted(vc.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))
    return {str(k): int(v) for k, v in ordered}


def margins(margin: pd.Series) -> dict[str, int]:
    """Surgical margins among resections with a stated margin (not_applicable/blank excluded)."""
    neg = int((margin == "negative").sum())
    pos = int((margin == "positive").sum())
    return {
        "n": neg + pos,
        "negative_n": neg,
        "positive_n": pos,
        "not_reported_n": int(len(margin) - neg - pos),
    }


def complications(highest_grade: pd.Series) -> dict[str, int]:
    """Episodes by their highest Clavien-Dindo grade (Dindo 2004 [P]), plus major_n.

    `highest_grade` is one value per episode (blank = no complication recorded); major =
    grade IIIa or worse (Dindo 2004).
    """
    out: dict[str, int] = {"none": int(highest_grade.isna().sum())}
    for grade in GRADES:
        out[grade] = int((highest_grade == grade).sum())
    out["major_n"] = int(sum(1 for g in highest_grade.dropna() if is_major(str(g))))
    return out


def pt_distribution(pt: pd.Series) -> dict[str, int]:
    """pT category → n, written 'pT1a' (normalised T values as from `cohorts.normalise_t`)."""
    labelled = pt.map(lambda t: None if t is None or pd.isna(t) else f"p{t}")
    return counts(labelled)
