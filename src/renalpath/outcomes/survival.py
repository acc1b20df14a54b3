"""Kaplan-Meier, log-rank and Aalen-Johansen estimates that agree with R's `survival` package.

Users compare survival numbers with R (lifelines' default CI is log(-log) and
its median CI differs from R, lifelines #861), so every convention here is R's default:

* Survival S(t) is the product-limit estimate (lifelines `KaplanMeierFitter`).
* Standard error is Greenwood's; the 95 % CI uses R's default ``conf.type = "log"``:
  ``exp(log S ± z · sqrt(Σ d / (n (n − d))))``, upper limit capped at 1, undefined when S = 0
  (R `survfit.formula` documentation; Kalbfleisch & Prentice 2002, section 1.4).
* The median and its CI follow R's ``quantile.survfit``: the first time the curve (or its
  lower/upper confidence limit) falls to ≤ 0.5, with the midpoint rule when the curve is flat at
  exactly 0.5.
* Fixed-time estimates follow ``summary(fit, times=…)``: S at the last event time ≤ t, the number
  at risk is the number still under observation at t, events are counted since the previous
  requested time, and times beyond the last observation are not estimable.
* The log-rank test is lifelines' ``multivariate_logrank_test`` (identical χ² to R ``survdiff``);
  observed and expected counts per group are reported as R prints them.
* Cumulative incidence with competing risks uses the Aalen-Johansen estimator (see
  `cumulative_incidence` for why it is computed here rather than by lifelines).

All functions take plain arrays and return frozen dataclasses with JSON-safe ``to_json_dict``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from scipy.stats import norm

# R quantile.survfit's default tolerance for "the curve is exactly at p".
_R_TOLERANCE = math.sqrt(np.finfo(float).eps)


def _clean(value: float | None) -> float | None:
    """NaN and ±inf become None so JSON output never carries them."""
    if value is None:
        return None
    out = float(value)
    return out if math.isfinite(out) else None


def _as_arrays(
    durations: Sequence[float] | np.ndarray | pd.Series,
    events: Sequence[bool | int] | np.ndarray | pd.Series,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate survival input: refuse rather than silently drop bad rows."""
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events)
    if t.shape != e.shape or t.ndim != 1:
        raise ValueError(
            f"durations and events must be 1-D and equally long (got {t.shape} and {e.shape})"
        )
    if np.isnan(t).any():
        raise ValueError(
            f"durations: {int(np.isnan(t).sum())} missing value(s); every subject needs a "
            "follow-up time (likely cause: a missing index or follow-up date)"
        )
    if (t < 0).any():
        bad = t[t < 0][:3].tolist()
        raise ValueError(
            f"durations: negative values {bad} (allowed: ≥ 0); likely cause: an event or "
            "follow-up date earlier than the index date"
        )
    ev = pd.Series(e)
    if ev.isna().any() or not ev.isin([0, 1, True, False]).all():
        raise ValueError("events: must be 0/1 or true/false for every subject")
    return t, e.astype(bool)


@dataclass(frozen=True)
class KaplanMeier:
    """One Kaplan-Meier curve with R-compatible table, CI and median.

    `table` holds one row per distinct event time (as R's ``summary(survfit)``), `curve` one row
    per distinct observed time including censoring times (what a plot and the quantile rule
    need).
    """

    label: str
    n: int
    events: int
    conf_level: float
    table: pd.DataFrame
    curve: pd.DataFrame
    median: float | None
    median_ci_low: float | None
    median_ci_high: float | None
    max_time: float | None

    def at(self, times: Iterable[float]) -> pd.DataFrame:
        """Estimates at fixed times, as R ``summary(fit, times=…)`` (NaN where not estimable)."""
        rows: list[dict[str, float | int | None]] = []
        curve = self.curve
        previous = -math.inf
        for t in times:
            t = float(t)
            n_risk = _risk_at(curve, t)
            in_window = (curve["time"] > previous) & (curve["time"] <= t)
            n_event = int(curve.loc[in_window, "n_event"].sum())
            previous = t
            if self.max_time is None or t > self.max_time:
                rows.append(
                    {
                        "time": t,
                        "n_risk": n_risk,
                        "n_event": n_event,
                        "survival": None,
                        "std_err": None,
                        "ci_low": None,
                        "ci_high": None,
                    }
                )
                continue
            before = curve[curve["time"] <= t]
            if before.empty:
                surv, se, lo, hi = 1.0, 0.0, 1.0, 1.0
            else:
                last = before.iloc[-1]
                surv, se = float(last["survival"]), float(last["std_err"])
                lo, hi = float(last["ci_low"]), float(last["ci_high"])
            rows.append(
                {
                    "time": t,
                    "n_risk": n_risk,
                    "n_event": n_event,
                    "survival": surv,
                    "std_err": se,
                    "ci_low": lo,
                    "ci_high": hi,
                }
            )
        return pd.DataFrame(
            rows,
            columns=["time", "n_risk", "n_event", "survival", "std_err", "ci_low", "ci_high"],
        )

    def at_risk(self, times: Iterable[float]) -> list[dict[str, float | int]]:
        """Numbers at risk (still under observation at t) for the table under a KM plot."""
        return [{"time": float(t), "n_risk": _risk_at(self.curve, float(t))} for t in times]

    def to_json_dict(self, time_key: str = "time_days") -> dict[str, Any]:
        table = [
            {
                time_key: _clean(float(r["time"])),
                "n_risk": int(r["n_risk"]),
                "n_event": int(r["n_event"]),
                "survival": _clean(float(r["survival"])),
                "ci_low": _clean(float(r["ci_low"])),
                "ci_high": _clean(float(r["ci_high"])),
            }
            for r in self.table.to_dict("records")
        ]
        return {
            "label": self.label,
            "n": self.n,
            "events": self.events,
            "median": _clean(self.median),
            "median_ci_low": _clean(self.median_ci_low),
            "median_ci_high": _clean(self.median_ci_high),
            "conf_level": self.conf_level,
            "table": table,
        }


def _risk_at(curve: pd.DataFrame, t: float) -> int:
    """Subjects still observed at t = those whose time is ≥ t (R's n.risk at time t)."""
    later = curve[curve["time"] >= t]
    return int(later["n_risk_at"].iloc[0]) if not later.empty else 0


def kaplan_meier(
    durations: Sequence[float] | np.ndarray | pd.Series,
    events: Sequence[bool | int] | np.ndarray | pd.Series,
    *,
    label: str = "all",
    conf_level: float = 0.95,
) -> KaplanMeier:
    """Fit a KM curve with R's default (log) Greenwood confidence interval."""
    if not 0.0 < conf_level < 1.0:
        raise ValueError(f"conf_level: {conf_level!r} is not allowed (allowed: 0 < level < 1)")
    t, e = _as_arrays(durations, events)
    columns = ["time", "n_risk", "n_event", "n_censor", "survival", "std_err", "ci_low", "ci_high"]
    if t.size == 0:
        empty = pd.DataFrame(columns=columns)
        return KaplanMeier(
            label, 0, 0, conf_level, empty, empty.assign(n_risk_at=[]), None, None, None, None
        )
    kmf = KaplanMeierFitter(alpha=1 - conf_level).fit(t, e, label=label)
    et = kmf.event_table
    et = et[et["removed"] > 0]  # lifelines adds a t = 0 row where nobody leaves
    time = et.index.to_numpy(dtype=float)
    n_risk = et["at_risk"].to_numpy(dtype=float)
    d = et["observed"].to_numpy(dtype=float)
    surv = kmf.survival_function_.loc[time].to_numpy(dtype=float).ravel()
    # Greenwood: Var(log S) = Σ d / (n (n − d)); infinite once everybody left has the event.
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(d > 0, d / (n_risk * (n_risk - d)), 0.0)
    var_log = np.cumsum(term)
    se_log = np.sqrt(var_log)
    z = float(norm.ppf(1 - (1 - conf_level) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.log(surv)
        lo = np.exp(log_s - z * se_log)
        hi = np.minimum(np.exp(log_s + z * se_log), 1.0)
        se = surv * se_log
    undefined = (surv <= 0) | ~np.isfinite(se_log)
    lo = np.where(undefined, np.nan, lo)
    hi = np.where(undefined, np.nan, hi)
    se = np.where(undefined, np.nan, se)
    curve = pd.DataFrame(
        {
            "time": time,
            "n_risk": n_risk.astype(int),
            "n_event": d.astype(int),
            "n_censor": et["censored"].to_numpy(dtype=int),
            "survival": surv,
            "std_err": se,
            "ci_low": lo,
            "ci_high": hi,
            "n_risk_at": n_risk.astype(int),
        }
    )
    table = curve.loc[curve["n_event"] > 0, columns].reset_index(drop=True)
    med, med_lo, med_hi = _r_quantile(curve, 0.5)
    return KaplanMeier(
        label=label,
        n=int(t.size),
        events=int(e.sum()),
        conf_level=conf_level,
        table=table,
        curve=curve,
        median=med,
        median_ci_low=med_lo,
        median_ci_high=med_hi,
        max_time=float(t.max()),
    )


def _findq(x: np.ndarray, y: np.ndarray, p: float) -> float | None:
    """R survival ``findq``: where the CDF y (= 1 − S) reaches p, midpoint rule on flats."""
    keep = ~np.isnan(y)
    xmax = float(x[-1])
    x, y = x[keep], y[keep]
    if y.size == 0 or np.max(y) < p:
        return None
    _, first = np.unique(y, return_index=True)
    first = np.sort(first)
    x, y = x[first], y[first]
    n = y.size
    # approx(y ± tol, 1:n, p, method="constant", f=1): first index whose level reaches p.
    hit1 = np.nonzero(y + _R_TOLERANCE >= p)[0]
    hit2 = np.nonzero(y - _R_TOLERANCE >= p)[0]
    if p == 0:
        return float(x[0])
    if hit1.size == 0:
        return None
    i1 = int(hit1[0])
    if hit2.size:
        return (float(x[i1]) + float(x[int(hit2[0])])) / 2
    if abs(p - float(y[n - 1])) < _R_TOLERANCE:  # flat at p to the end of the curve
        return (float(x[i1]) + xmax) / 2
    return None


def _r_quantile(curve: pd.DataFrame, p: float) -> tuple[float | None, float | None, float | None]:
    """R ``quantile.survfit`` for one curve: (estimate, lower, upper)."""
    x = np.concatenate([[0.0], curve["time"].to_numpy(dtype=float)])

    def cdf(col: str) -> np.ndarray:
        return np.concatenate([[0.0], 1.0 - curve[col].to_numpy(dtype=float)])

    return _findq(x, cdf("survival"), p), _findq(x, cdf("ci_low"), p), _findq(x, cdf("ci_high"), p)


@dataclass(frozen=True)
class LogRank:
    """Log-rank test across groups, with R ``survdiff``'s observed and expected counts."""

    chisq: float | None
    df: int
    p_value: float | None
    groups: tuple[str, ...]
    n: tuple[int, ...]
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    note: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "test": "log-rank",
            "chisq": _clean(self.chisq),
            "df": self.df,
            "p_value": _clean(self.p_value),
            "groups": [
                {"group": g, "n": n, "observed": o, "expected": _clean(x)}
                for g, n, o, x in zip(
                    self.groups, self.n, self.observed, self.expected, strict=True
                )
            ],
            "note": self.note,
        }


def logrank(
    durations: Sequence[float] | np.ndarray | pd.Series,
    events: Sequence[bool | int] | np.ndarray | pd.Series,
    groups: Sequence[object] | np.ndarray | pd.Series,
) -> LogRank:
    """Log-rank (Mantel-Haenszel) test; χ² and p from lifelines, O/E as R prints them."""
    t, e = _as_arrays(durations, events)
    g = pd.Series(np.asarray(groups, dtype=object)).astype(str).to_numpy()
    if g.shape != t.shape:
        raise ValueError(f"groups must be as long as durations ({g.size} vs {t.size})")
    labels = tuple(sorted(set(g.tolist())))
    n = tuple(int((g == lab).sum()) for lab in labels)
    observed = tuple(int(e[g == lab].sum()) for lab in labels)
    # Expected events per group: Σ over event times of d_j · n_gj / n_j (sorted, vectorised).
    event_times, d_all = np.unique(t[e], return_counts=True)
    t_sorted = np.sort(t)
    at_risk_all = t.size - np.searchsorted(t_sorted, event_times, side="left")
    expected: list[float] = []
    for lab in labels:
        tg = np.sort(t[g == lab])
        n_g = tg.size - np.searchsorted(tg, event_times, side="left")
        expected.append(float(np.sum(d_all * n_g / at_risk_all)) if event_times.size else 0.0)
    if len(labels) < 2 or not e.any():
        why = "fewer than two groups" if len(labels) < 2 else "no events"
        return LogRank(
            None,
            max(len(labels) - 1, 0),
            None,
            labels,
            n,
            observed,
            tuple(expected),
            note=f"log-rank test not computed: {why}",
        )
    res = multivariate_logrank_test(t, g, e)
    return LogRank(
        chisq=float(res.test_statistic),
        df=int(res.degrees_of_freedom),
        p_value=float(res.p_value),
        groups=labels,
        n=n,
        observed=observed,
        expected=tuple(expected),
    )


@dataclass(frozen=True)
class CumulativeIncidence:
    """Aalen-Johansen cumulative incidence functions, one column per cause."""

    causes: Mapping[int, str]
    n: int
    table: pd.DataFrame  # time, n_risk, n_event_<cause>..., cif_<cause>...
    max_time: float | None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def at(self, times: Iterable[float]) -> pd.DataFrame:
        """CIF of every cause at fixed times (step function; NaN beyond the last follow-up)."""
        out: list[dict[str, float | None]] = []
        last_time = -math.inf if self.max_time is None else self.max_time
        for t in times:
            row: dict[str, float | None] = {"time": float(t)}
            before = self.table[self.table["time"] <= t]
            for name in self.causes.values():
                if t > last_time:
                    row[name] = None
                else:
                    row[name] = 0.0 if before.empty else float(before[f"cif_{name}"].iloc[-1])
            out.append(row)
        return pd.DataFrame(out)

    def to_json_dict(self, time_key: str = "time_days") -> dict[str, Any]:
        rows = []
        for r in self.table.to_dict("records"):
            rows.append(
                {
                    time_key: _clean(r["time"]),
                    "n_risk": int(r["n_risk"]),
                    **{f"cif_{c}": _clean(r[f"cif_{c}"]) for c in self.causes.values()},
                }
            )
        return {
            "method": "Aalen-Johansen",
            "causes": list(self.causes.values()),
            "n": self.n,
            "table": rows,
            "notes": list(self.notes),
        }


def cumulative_incidence(
    durations: Sequence[float] | np.ndarray | pd.Series,
    event_codes: Sequence[int] | np.ndarray | pd.Series,
    causes: Mapping[int, str],
) -> CumulativeIncidence:
    """Aalen-Johansen CIF: F_k(t) = Σ_{t_j ≤ t} S(t_j−) · d_kj / n_j.

    `event_codes`: 0 = censored, otherwise a key of `causes` (e.g. {1: "recurrence",
    2: "death_without_recurrence"}). S is the all-cause KM. Computed here instead of with
    lifelines' `AalenJohansenFitter` because that class randomly jitters tied times, and
    registry dates in days are full of ties; on untied data the two agree (tested).
    Reference: Aalen & Johansen, Scand J Stat 1978;5:141; Putter et al., Stat Med 2007;26:2389.
    """
    t = np.asarray(durations, dtype=float)
    c = np.asarray(event_codes, dtype=int)
    if t.shape != c.shape or t.ndim != 1:
        raise ValueError("durations and event_codes must be 1-D and equally long")
    _as_arrays(t, c != 0)
    unknown = sorted(set(np.unique(c).tolist()) - {0, *causes})
    if unknown:
        raise ValueError(
            f"event_codes: {unknown} not allowed (allowed: 0 = censored, {sorted(causes)})"
        )
    times, inverse = np.unique(t, return_inverse=True)
    n_risk = t.size - np.searchsorted(np.sort(t), times, side="left")
    d_k = {k: np.bincount(inverse[c == k], minlength=times.size) for k in causes}
    d = np.sum(list(d_k.values()), axis=0) if causes else np.zeros(times.size)
    surv = np.cumprod(1.0 - d / n_risk)  # all-cause KM just after each time
    surv_before = np.concatenate([[1.0], surv[:-1]])
    cif = {k: np.cumsum(surv_before * d_k[k] / n_risk) for k in causes}
    keep = d > 0
    rows = {
        "time": times[keep].astype(float),
        "n_risk": n_risk[keep],
        **{f"n_event_{name}": d_k[k][keep] for k, name in causes.items()},
        **{f"cif_{name}": cif[k][keep] for k, name in causes.items()},
    }
    cols = [
        "time",
        "n_risk",
        *(f"n_event_{v}" for v in causes.values()),
        *(f"cif_{v}" for v in causes.values()),
    ]
    notes = ("point estimates only; no confidence interval is computed",)
    return CumulativeIncidence(
        dict(causes),
        int(t.size),
        pd.DataFrame(rows, columns=cols),
        float(t.max()) if t.size else None,
        notes,
    )
