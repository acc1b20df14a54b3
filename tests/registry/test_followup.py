"""The follow-up end in pandas and in SQL (`registry.followup`) agree on any registry.

Hypothesis writes small registries — patients with or without a death or last-contact date,
and any number of events, labs and interventions on any dates, before or after the others —
into a migrated database (SQLite, and PostgreSQL when RENALPATH_TEST_PG_URL is set). The SQL
form, run by that database, must give every patient the date the pandas form gives on the
same rows read as frames; and both must equal the rule applied by hand.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert, select

from renalpath.registry.followup import followup_end, followup_end_sql, months_between
from renalpath.registry.frames import RegistryFrames
from renalpath.registry.models import TABLES

DATES = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2035, 12, 31))
MAYBE = st.none() | DATES


@st.composite
def registries(draw: Any) -> dict[str, list[dict[str, Any]]]:
    """Rows of the four tables the rule reads, valid for the registry's constraints."""
    n = draw(st.integers(1, 6))
    rows: dict[str, list[dict[str, Any]]] = {
        "patients": [],
        "events": [],
        "labs": [],
        "interventions": [],
    }
    for i in range(n):
        pid = f"P{i}"
        rows["patients"].append(
            {
                "patient_id": pid,
                "sex": "female",
                "birth_date": dt.date(1940, 1, 1),
                "death_date": draw(MAYBE),
                "last_contact_date": draw(MAYBE),
            }
        )
        # events and labs are unique by (patient, type or test, date): distinct dates each
        for d in draw(st.lists(DATES, max_size=3, unique=True)):
            rows["events"].append({"patient_id": pid, "date": d, "type": "last_followup"})
        for d in draw(st.lists(DATES, max_size=3, unique=True)):
            rows["labs"].append(
                {"patient_id": pid, "date": d, "test": "creatinine", "value": 1.0, "unit": "mg/dL"}
            )
        for j, d in enumerate(draw(st.lists(DATES, max_size=3))):
            rows["interventions"].append(
                {
                    "intervention_id": f"{pid}-I{j}",
                    "patient_id": pid,
                    "date": d,
                    "type": "cryoablation",
                }
            )
    return rows


def _by_hand(rows: dict[str, list[dict[str, Any]]]) -> dict[str, dt.date | None]:
    """The rule, read literally: the latest of every date the patient has."""
    out: dict[str, dt.date | None] = {}
    for p in rows["patients"]:
        dates = [p["death_date"], p["last_contact_date"]]
        for table in ("events", "labs", "interventions"):
            dates += [r["date"] for r in rows[table] if r["patient_id"] == p["patient_id"]]
        known = [d for d in dates if d is not None]
        out[p["patient_id"]] = max(known) if known else None
    return out


def _write(engine: Engine, rows: dict[str, list[dict[str, Any]]]) -> None:
    with engine.begin() as conn:
        for name in ("events", "labs", "interventions", "patients"):
            conn.execute(delete(TABLES[name]))
        for name in ("patients", "events", "labs", "interventions"):
            if rows[name]:
                conn.execute(insert(TABLES[name]), rows[name])


def _date(value: object) -> dt.date | None:
    if value is None or value is pd.NaT:
        return None
    return pd.Timestamp(str(value)).date()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=registries())
def test_pandas_and_sql_forms_agree(engine: Engine, rows: dict[str, list[dict[str, Any]]]) -> None:
    _write(engine, rows)
    pat = TABLES["patients"]
    stmt = select(pat.c.patient_id, followup_end_sql(pat, engine.dialect.name))
    with engine.connect() as conn:
        by_sql = {pid: _date(end) for pid, end in conn.execute(stmt)}

    frames = RegistryFrames.build({k: pd.DataFrame(v) for k, v in rows.items() if v})
    series = followup_end(frames.patients, frames.events, frames.labs, frames.interventions)
    by_pandas = {str(pid): _date(end) for pid, end in series.items()}

    assert by_sql == by_pandas == _by_hand(rows)


def test_months_are_days_over_30_4375() -> None:
    start = pd.Series(pd.to_datetime(["2020-01-01", "2020-01-01"]))
    end = pd.Series(pd.to_datetime(["2021-01-01", None]))
    months = months_between(start, end)
    assert months.iloc[0] == 366 / 30.4375  # 2020 is a leap year
    assert pd.isna(months.iloc[1])
