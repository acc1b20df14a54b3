"""When a patient's follow-up ends, and how long it lasted: one rule, in pandas and in SQL.

The rule (docs/data-model.md): follow-up ends at the latest of the death date, the
last-contact date and any event, laboratory or intervention date recorded for the patient.
Durations in months are days ÷ 30.4375 (`clinical.durations`).

Why two forms side by side: the study loaders (`outcomes.source`) let the database compute the
end per patient, so a million-patient registry never loads its lab rows; frames read whole
(`registry.frames.read_registry`) or built by hand (tests, notebooks) get it from pandas. Both
forms live here so that a change to the rule is made once, in one file, and
tests/registry/test_followup.py checks on generated registries that they agree on SQLite and
PostgreSQL.

- `followup_end(patients, events, labs, interventions)` — pandas: one date per patient
  (indexed by patient_id, NaT when the patient has no date at all).
- `followup_end_sql(patients, dialect)` — the same as an SQL expression on the `patients`
  table (or an alias of it), one value per row as ISO `YYYY-MM-DD` text (NULL when none).
- `months_between(start, end)` — months between two date columns.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import String, func, literal, select, type_coerce
from sqlalchemy.sql import ColumnElement, FromClause

from renalpath.clinical.durations import DAYS_PER_MONTH
from renalpath.registry.models import TABLES

# Besides death and last contact, the latest date of these tables (per patient) counts.
FOLLOWUP_TABLES = ("events", "labs", "interventions")
_NO_DATE = "0000-00-00"  # sorts before every ISO date


def followup_end(
    patients: pd.DataFrame,
    events: pd.DataFrame,
    labs: pd.DataFrame,
    interventions: pd.DataFrame,
) -> pd.Series:
    """Latest of death_date, last_contact_date and any event, lab or intervention date of the
    patient, indexed by patient_id (named `followup_end_date`)."""
    pats = patients.set_index("patient_id")
    parts = [pats["death_date"], pats["last_contact_date"]]
    for frame in (events, labs, interventions):
        if len(frame):
            dates = pd.to_datetime(frame["date"])
            parts.append(dates.groupby(frame["patient_id"], sort=False).max())
    dated = [pd.to_datetime(p).reindex(pats.index) for p in parts]
    return pd.concat(dated, axis=1).max(axis=1).rename("followup_end_date")


def followup_end_sql(patients: FromClause, dialect: str) -> ColumnElement[Any]:
    """The same rule as one SQL value per row of `patients` (ISO date text, NULL if none).

    Correlated look-ups ride the (patient_id, …, date) indexes: one short index range per
    patient instead of a GROUP BY over tens of millions of lab rows. SQLite's many-argument
    max() is NULL if any argument is, so blanks become a sentinel first (dates are ISO text
    there, so text order is date order); other databases have GREATEST, which skips NULLs.
    """
    parts: list[ColumnElement[Any]] = [patients.c.death_date, patients.c.last_contact_date]
    for name in FOLLOWUP_TABLES:
        t = TABLES[name].alias(f"latest_{name}")  # never correlated with an outer `name`
        latest = (
            select(func.max(t.c.date))
            .where(t.c.patient_id == patients.c.patient_id)
            .correlate_except(t)
            .scalar_subquery()
        )
        parts.append(latest)
    if dialect == "sqlite":
        blank = literal(_NO_DATE, String)
        greatest = func.max(*(func.coalesce(type_coerce(p, String), blank) for p in parts))
        return func.nullif(greatest, blank)
    return type_coerce(func.greatest(*parts), String)


def months_between(start: pd.Series, end: pd.Series) -> pd.Series:
    """Months between two date columns (days ÷ 30.4375, `clinical.durations`)."""
    days = (pd.to_datetime(end) - pd.to_datetime(start)).dt.days
    return days / DAYS_PER_MONTH
