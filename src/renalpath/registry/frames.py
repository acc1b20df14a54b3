"""Registry tables as pandas DataFrames, with derived columns — the outcomes layer's input.

API (stable):

- `load_frames(engine, equation="ckd-epi-2021") -> RegistryFrames` — every table at once.
- `RegistryFrames` fields `patients`, `tumours`, `imaging`, `interventions`, `pathology`,
  `complications`, `labs`, `events`, and the coded records `staging`, `performance`,
  `disease_status`, `metastases`, `systemic_therapy`, `radiotherapy`: one DataFrame each,
  with exactly the data dictionary's column names (dates as pandas datetime64, numbers float /
  nullable Int64, booleans object True/False/None, text and enumerations object/None), plus:
  - `patients.followup_end_date`: latest of death_date, last_contact_date and any event, lab or
    intervention date; `followup_months(start, end)` converts (days / 30.4375).
  - `interventions.side_derived`, `intent_derived`, `parent_intervention_id_derived`,
    `lineage_source` ("explicit" | "derived"): the salvage lineage as stored at import.
  - `labs.loinc`, `labs.ucum`: the derived LOINC term and UCUM unit code (None where none fits);
  - `labs.egfr`, `labs.egfr_equation`: eGFR of every creatinine row (NaN for other tests and
    under-18s). With the default equation the stored values are returned; any other equation
    ("mdrd", "ckd-epi-2009") is recomputed on the fly from the patient's sex, age at the lab
    date (completed years) and, for the legacy equations, black_race.
  - `complications.seq`: order of the complication within its intervention.
- `load_table(engine, name, equation=...)` — one of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Engine, select

from renalpath.registry.derived import (
    DEFAULT_EQUATION,
    compute_egfr,
    followup_end,
    months_between,
)
from renalpath.registry.dictionary import FILES
from renalpath.registry.models import TABLES

_DERIVED: dict[str, tuple[str, ...]] = {
    "interventions": (
        "side_derived",
        "intent_derived",
        "parent_intervention_id_derived",
        "lineage_source",
    ),
    "labs": ("egfr", "egfr_equation", "loinc", "ucum"),
    "complications": ("seq",),
}


@dataclass
class RegistryFrames:
    patients: pd.DataFrame
    tumours: pd.DataFrame
    imaging: pd.DataFrame
    interventions: pd.DataFrame
    pathology: pd.DataFrame
    complications: pd.DataFrame
    labs: pd.DataFrame
    events: pd.DataFrame
    # The coded records (empty frames with the dictionary's columns when none is stored).
    staging: pd.DataFrame = field(default_factory=pd.DataFrame)
    performance: pd.DataFrame = field(default_factory=pd.DataFrame)
    disease_status: pd.DataFrame = field(default_factory=pd.DataFrame)
    metastases: pd.DataFrame = field(default_factory=pd.DataFrame)
    systemic_therapy: pd.DataFrame = field(default_factory=pd.DataFrame)
    radiotherapy: pd.DataFrame = field(default_factory=pd.DataFrame)


def _raw(engine: Engine, name: str) -> pd.DataFrame:
    spec = FILES[name]
    cols = [*spec.column_names, *_DERIVED.get(name, ())]
    table = TABLES[name]
    with engine.connect() as conn:
        rows = conn.execute(select(*[table.c[c] for c in cols])).all()
    frame = pd.DataFrame(rows, columns=cols)
    for col in spec.columns:
        if col.type == "date":
            frame[col.name] = pd.to_datetime(frame[col.name])
        elif col.type == "float":
            frame[col.name] = pd.to_numeric(frame[col.name]).astype(float)
        elif col.type == "int":
            frame[col.name] = pd.to_numeric(frame[col.name]).astype("Int64")
    if name == "labs":
        frame["egfr"] = pd.to_numeric(frame["egfr"]).astype(float)
    return frame


def load_frames(engine: Engine, equation: str = DEFAULT_EQUATION) -> RegistryFrames:
    raw = {name: _raw(engine, name) for name in FILES}
    if equation != DEFAULT_EQUATION:
        pats = raw["patients"].set_index("patient_id", drop=False)
        egfr, eq = compute_egfr(raw["labs"], pats, equation)
        raw["labs"]["egfr"] = egfr
        raw["labs"]["egfr_equation"] = eq
    end = followup_end(raw["patients"], raw["events"], raw["labs"], raw["interventions"])
    raw["patients"]["followup_end_date"] = raw["patients"]["patient_id"].map(end)
    return RegistryFrames(**raw)


def load_table(engine: Engine, name: str, equation: str = DEFAULT_EQUATION) -> pd.DataFrame:
    frames = load_frames(engine, equation)
    result: pd.DataFrame = getattr(frames, name)
    return result


def followup_months(start: pd.Series, end: pd.Series) -> pd.Series:
    """Months between two date columns (days / 30.4375)."""
    return months_between(start, end)
