"""Time-to-event endpoints measured from an index operation.

Definitions (stated again in the methods text):
* overall survival — event: death from any cause;
* recurrence-free survival — event: the first local recurrence or distant metastasis after the
  index operation, or death from any cause, whichever comes first (the usual RFS definition,
  e.g. DATECAN guidelines, Bellera et al., Eur J Cancer 2015; [P] project choice);
* cancer-specific survival — event: death with `death_cause = rcc`; deaths from other or unknown
  causes are censored at death (unknown causes are counted in the notes).
Patients without the event are censored at the end of follow-up (latest of death,
last contact and any event, lab or intervention date). Only events dated strictly after the
index date count as recurrences; a `residual_disease` event is not a recurrence.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from renalpath.outcomes.cohorts import (
    RECURRENCE_EVENTS,
    death_dates,
    followup_end,
    subset_ids,
)
from renalpath.outcomes.study_options import ENDPOINTS
from renalpath.registry.frames import RegistryFrames

ENDPOINT_TEXT: dict[str, str] = {
    "overall": "death from any cause",
    "recurrence-free": (
        "local recurrence or distant metastasis after the index operation, or death from any "
        "cause, whichever came first"
    ),
    "cancer-specific": "death from renal cell carcinoma (other and unknown causes censored)",
}


def first_recurrence(frames: RegistryFrames, index: pd.DataFrame) -> pd.Series:
    """Date of the first recurrence event strictly after each index operation (by row)."""
    keep = subset_ids(frames, index["patient_id"])
    events = (
        frames.events if keep is None else frames.events[frames.events["patient_id"].isin(keep)]
    )
    ev = events[events["type"].isin(RECURRENCE_EVENTS)][["patient_id", "date"]]
    key = index[["patient_id", "date"]].reset_index(drop=True).reset_index(names="row")
    j = key.merge(ev.rename(columns={"date": "ev_date"}), on="patient_id")
    j = j[j["ev_date"] > j["date"]]
    first = j.groupby("row", sort=False)["ev_date"].min()
    return pd.Series(first.reindex(range(len(index))).to_numpy(), index=index.index)


def time_to_event(
    frames: RegistryFrames, index: pd.DataFrame, endpoint: str
) -> tuple[pd.DataFrame, list[str]]:
    """Per index row: `time_days`, `event` (bool) and, for competing risks, `code`.

    `code`: 0 censored, 1 recurrence, 2 death without recurrence (only meaningful for the
    recurrence-free endpoint, where it feeds the Aalen-Johansen estimator).
    """
    if endpoint not in ENDPOINTS:
        raise ValueError(f"endpoint: {endpoint!r} is not allowed (allowed: {list(ENDPOINTS)})")
    notes: list[str] = []
    pid = index["patient_id"]
    start = index["date"]
    keep = subset_ids(frames, pid)
    death = pid.map(death_dates(frames, keep))
    end = pid.map(followup_end(frames, keep))
    early = death.notna() & (death < start)
    if early.any():
        bad = pid[early].head(3).tolist()
        raise ValueError(
            f"death date before the index operation for {int(early.sum())} patient(s), e.g. "
            f"{bad}; likely cause: a wrong death or operation date"
        )
    codes: pd.Series = pd.Series(0, index=index.index, dtype=int)
    if endpoint == "overall":
        event = death.notna()
        when = death.where(event, end)
    elif endpoint == "cancer-specific":
        pats = (
            frames.patients
            if keep is None
            else frames.patients[frames.patients["patient_id"].isin(keep)]
        )
        cause = pid.map(pats.set_index("patient_id")["death_cause"])
        event = death.notna() & (cause == "rcc")
        unknown = int((death.notna() & cause.isna()).sum() + (cause == "unknown").sum())
        if unknown:
            notes.append(f"{unknown} death(s) with unknown cause censored at death")
        when = death.where(death.notna(), end)
    else:
        rec = first_recurrence(frames, index)
        rec_first = rec.notna() & (death.isna() | (rec <= death))
        event = rec.notna() | death.notna()
        when = rec.where(rec_first, death.where(death.notna(), end))
        codes = pd.Series(np.where(rec_first, 1, np.where(death.notna(), 2, 0)), index=index.index)
    out = pd.DataFrame(
        {
            "patient_id": pid,
            "time_days": (when - start).dt.days.astype(float),
            "event": event.astype(bool),
            "code": codes,
        },
        index=index.index,
    )
    return out, notes
