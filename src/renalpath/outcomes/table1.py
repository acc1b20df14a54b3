"""Table 1 (via tableone) and the paired pre/post table tableone cannot make.

P-values are opt-in and every row that has one names its test (STROBE
users often want no p-values in Table 1; users asked tableone for a test-name column). tableone
has no paired tests, so `paired_table` does t-test/Wilcoxon/McNemar rows itself.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from statsmodels.stats.contingency_tables import mcnemar
from tableone import TableOne

from renalpath.outcomes.jsonsafe import json_safe
from renalpath.outcomes.renal_function import paired_tests


@dataclass(frozen=True)
class Table1:
    """Rows as records ({variable, level, overall, <groups>, missing, p_value?, test?})."""

    rows: list[dict[str, Any]]
    columns: list[str]
    warnings: tuple[str, ...]
    frame: pd.DataFrame  # tableone's own table, for HTML/LaTeX rendering

    def to_json_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = json_safe(
            {"columns": self.columns, "rows": self.rows, "warnings": list(self.warnings)}
        )
        return out


def table_one(
    data: pd.DataFrame,
    columns: Sequence[str],
    *,
    categorical: Sequence[str] = (),
    nonnormal: Sequence[str] = (),
    groupby: str | None = None,
    pval: bool = False,
    labels: dict[str, str] | None = None,
    decimals: int = 1,
) -> Table1:
    """Descriptive Table 1; with `pval=True` (needs `groupby`) each variable names its test.

    Defaults are tableone's: mean (SD) or median [Q1,Q3] for `nonnormal`; Welch's t-test or
    ANOVA, Kruskal-Wallis for non-normal, chi-squared (Fisher exact for small 2×2).
    """
    missing = [c for c in [*columns, *([groupby] if groupby else [])] if c not in data.columns]
    if missing:
        raise ValueError(f"table_one: column(s) {missing} not in data ({list(data.columns)})")
    if pval and groupby is None:
        raise ValueError("table_one: p-values need a groupby column to compare groups")
    if data.empty:
        raise ValueError("table_one: no rows to describe (empty cohort)")
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        t1 = TableOne(
            data,
            columns=list(columns),
            categorical=list(categorical),
            nonnormal=list(nonnormal),
            groupby=groupby,
            pval=pval,
            htest_name=pval,
            rename=labels,
            decimals=decimals,
            missing=True,
            overall=True,
        )
        caught = [str(w.message) for w in record]
    frame = t1.tableone
    flat = frame.copy()
    if isinstance(flat.columns, pd.MultiIndex):
        flat.columns = [c[-1] for c in flat.columns]
    rows: list[dict[str, Any]] = []
    last_var = ""
    last_test: str | None = None
    last_p: str | None = None
    for (variable, level), values in flat.iterrows():
        rec: dict[str, Any] = {"variable": variable, "level": level or None}
        for col, val in values.items():
            rec[str(col)] = None if val == "" else val
        if pval:
            # tableone prints the test and p once per variable: carry them to every level.
            if variable != last_var:
                last_test, last_p = rec.get("Test"), rec.get("P-Value")
            rec["test"], rec["p_value"] = last_test, last_p
            rec.pop("Test", None)
            rec.pop("P-Value", None)
        last_var = variable
        rows.append(rec)
    cols = ["variable", "level", *(str(c) for c in flat.columns if c not in ("Test", "P-Value"))]
    if pval:
        cols += ["p_value", "test"]
    return Table1(rows=json_safe(rows), columns=cols, warnings=tuple(caught), frame=frame)


def paired_table(
    data: pd.DataFrame,
    continuous: Sequence[tuple[str, str, str]],
    binary: Sequence[tuple[str, str, str]] = (),
) -> list[dict[str, Any]]:
    """Pre/post rows: `continuous` = (label, pre_col, post_col) → mean ± SD, median, change,
    paired t-test and Wilcoxon signed-rank; `binary` = (label, pre_col, post_col) of booleans →
    n (%) before and after and McNemar's exact test. Only complete pairs are used."""
    rows: list[dict[str, Any]] = []
    for label, pre_col, post_col in continuous:
        both = data[[pre_col, post_col]].dropna().astype(float)
        res = paired_tests(both[pre_col], both[post_col], label)
        rows.append(
            {
                "variable": label,
                "n": res.n,
                "pre_mean": res.pre_mean,
                "pre_sd": both[pre_col].std(ddof=1) if res.n >= 2 else None,
                "pre_median": both[pre_col].median() if res.n else None,
                "post_mean": res.post_mean,
                "post_sd": both[post_col].std(ddof=1) if res.n >= 2 else None,
                "post_median": both[post_col].median() if res.n else None,
                "change_mean": res.change_mean,
                "tests": [
                    {"test": "paired t-test", "p_value": res.paired_t_p},
                    {"test": "Wilcoxon signed-rank", "p_value": res.wilcoxon_p},
                ],
                "notes": list(res.notes),
            }
        )
    for label, pre_col, post_col in binary:
        both = data[[pre_col, post_col]].dropna().astype(bool)
        a, b = both[pre_col], both[post_col]
        n = len(both)
        p = None
        if n:
            table = [
                [int((~a & ~b).sum()), int((~a & b).sum())],
                [int((a & ~b).sum()), int((a & b).sum())],
            ]
            p = float(mcnemar(table, exact=True).pvalue)
        rows.append(
            {
                "variable": label,
                "n": n,
                "pre_n": int(a.sum()),
                "pre_pct": 100 * a.mean() if n else None,
                "post_n": int(b.sum()),
                "post_pct": 100 * b.mean() if n else None,
                "tests": [{"test": "McNemar (exact)", "p_value": p}],
                "notes": [] if n else [f"{label}: no complete pairs"],
            }
        )
    out: list[dict[str, Any]] = json_safe(rows)
    return out
