"""`study survival`: KM curves by group from the first nephrectomy, with log-rank test.

Index: each patient's first partial or radical nephrectomy dated in the window.
Groups come from one analysis field (`BY_FIELDS`); rows with that field blank are left out and
counted, as R's `survfit` drops missing strata.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from renalpath.outcomes.cohorts import (
    DAYS_PER_MONTH,
    DateLike,
    first_per_patient,
    index_table,
    operations,
    to_timestamp,
)
from renalpath.outcomes.endpoints import ENDPOINT_TEXT, time_to_event
from renalpath.outcomes.jsonsafe import json_safe
from renalpath.outcomes.study_options import BY_FIELDS, ENDPOINTS
from renalpath.outcomes.survival import (
    CumulativeIncidence,
    KaplanMeier,
    LogRank,
    cumulative_incidence,
    kaplan_meier,
    logrank,
)
from renalpath.registry.frames import RegistryFrames

# Field name a user may pass to --by → column of `index_table`.

DEFAULT_TIMES_MONTHS: tuple[int, ...] = (0, 12, 24, 36, 60)


@dataclass(frozen=True)
class SurvivalStudy:
    endpoint: str
    by: str | None
    window_from: str | None
    window_to: str | None
    n: int
    groups: tuple[KaplanMeier, ...]
    logrank: LogRank | None
    competing_risks: CumulativeIncidence | None
    times_months: tuple[int, ...]
    data: pd.DataFrame = field(repr=False)
    notes: tuple[str, ...] = ()

    def to_json_dict(self) -> dict[str, Any]:
        times_days = [m * DAYS_PER_MONTH for m in self.times_months]
        groups = []
        for km in self.groups:
            doc = km.to_json_dict()
            doc["group"] = doc.pop("label")
            at = km.at(times_days)
            doc["at_risk"] = [
                {"months": m, "time_days": d, "n_risk": int(r)}
                for m, d, r in zip(self.times_months, times_days, at["n_risk"], strict=True)
            ]
            groups.append(doc)
        p = None if self.logrank is None else self.logrank.p_value
        out: dict[str, Any] = json_safe(
            {
                "endpoint": self.endpoint,
                "event_definition": ENDPOINT_TEXT[self.endpoint],
                "index": "first partial or radical nephrectomy per patient dated in the window",
                "window": {"from": self.window_from, "to": self.window_to},
                "by": self.by,
                "n": self.n,
                "events": int(sum(g.events for g in self.groups)),
                "groups": groups,
                "logrank_p": p,
                "logrank": None if self.logrank is None else self.logrank.to_json_dict(),
                "competing_risks": (
                    None if self.competing_risks is None else self.competing_risks.to_json_dict()
                ),
                "notes": list(self.notes),
            }
        )
        return out


def _iso(value: DateLike, name: str) -> str | None:
    ts = to_timestamp(value, name)
    return None if ts is None else ts.date().isoformat()


def survival_study(
    frames: RegistryFrames,
    endpoint: str = "overall",
    by: str | None = None,
    window_from: DateLike = None,
    window_to: DateLike = None,
    *,
    conf_level: float = 0.95,
    times_months: Sequence[int] = DEFAULT_TIMES_MONTHS,
) -> SurvivalStudy:
    """KM per group, log-rank p and (recurrence-free) Aalen-Johansen competing risks."""
    if endpoint not in ENDPOINTS:
        raise ValueError(f"endpoint: {endpoint!r} is not allowed (allowed: {list(ENDPOINTS)})")
    if by is not None and by not in BY_FIELDS:
        raise ValueError(f"by: {by!r} is not allowed (allowed: {sorted(BY_FIELDS)})")
    notes: list[str] = []
    ops = first_per_patient(operations(frames, window_from=window_from, window_to=window_to))
    rows = index_table(frames, ops)
    tte, tte_notes = time_to_event(frames, rows, endpoint)
    notes.extend(tte_notes)
    data = rows.join(tte[["time_days", "event", "code"]])
    if by is not None:
        col = BY_FIELDS[by]
        missing = data[col].isna()
        if missing.any():
            notes.append(f"{int(missing.sum())} patient(s) with blank {by} left out")
        data = data[~missing].copy()
        data["group"] = data[col].astype(str)
    else:
        data["group"] = "all"
    if data.empty:
        notes.append("no patients with a partial or radical nephrectomy in the window")
    groups = tuple(
        kaplan_meier(g["time_days"], g["event"], label=str(name), conf_level=conf_level)
        for name, g in data.groupby("group", sort=True)
    )
    lr = logrank(data["time_days"], data["event"], data["group"]) if by is not None else None
    if lr is not None and lr.note:
        notes.append(lr.note)
    cr = None
    if endpoint == "recurrence-free" and not data.empty:
        cr = cumulative_incidence(
            data["time_days"], data["code"], {1: "recurrence", 2: "death_without_recurrence"}
        )
    small = [g.label for g in groups if g.n < 5]
    if small:
        notes.append(
            f"group(s) {small} have fewer than 5 patients: estimates are unstable and small "
            "cells may need suppression before results leave the site"
        )
    return SurvivalStudy(
        endpoint=endpoint,
        by=by,
        window_from=_iso(window_from, "window_from"),
        window_to=_iso(window_to, "window_to"),
        n=len(data),
        groups=groups,
        logrank=lr,
        competing_risks=cr,
        times_months=tuple(times_months),
        data=data,
        notes=tuple(notes),
    )
