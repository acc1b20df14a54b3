"""The registry as pandas DataFrames, one per table: the one input every outcomes analysis takes.

Analyses are pure functions of these frames so they can be tested with a hand-built registry
and fed from SQLite, PostgreSQL or a CSV folder alike. Columns are the registry CSV columns
plus derived columns the registry computes (`intent_derived`,
`parent_intervention_id_derived`, `egfr`, `egfr_equation`, `loinc`, `ucum`,
`followup_end_date`). The coded records (`staging`, `performance`, `disease_status`,
`metastases`, `systemic_therapy`, `radiotherapy`) are frames too, empty when none is stored.
`RegistryFrames.build` normalises types once (ids to strings, dates to datetime64, booleans and
numbers parsed) and refuses values it cannot read, naming the table, column and offending
values, instead of silently turning them into missing data.

Where frames come from:

- `outcomes.source.load_frames` and the per-study loaders beside it — what the studies, the
  CLI and the web app use: SQL reads only the rows (and columns) a study needs.
- `read_registry(engine, equation="ckd-epi-2021")` (here) — every stored row and column of
  every table, the derived ones included (`side_derived`, `lineage_source`,
  `complications.seq`, …), with `patients.followup_end_date` from `registry.followup`. With
  another equation ("mdrd", "ckd-epi-2009") `labs.egfr` is recomputed from the patient's sex,
  age at the lab date (completed years) and, for the legacy equations, black_race. For
  checking what an import stored, and as the whole-registry reference the study loaders are
  tested against.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from renalpath.errors import Refusal
from renalpath.registry.derived import DEFAULT_EQUATION, compute_egfr

if TYPE_CHECKING:
    from sqlalchemy import Engine

# The registry CSV contract (docs/data-model.md) — required columns are marked by the `REQUIRED`
# table below.
COLUMNS: dict[str, tuple[str, ...]] = {
    "patients": (
        "patient_id",
        "sex",
        "birth_date",
        "black_race",
        "solitary_kidney",
        "hereditary_syndrome",
        "death_date",
        "death_cause",
        "last_contact_date",
        "followup_end_date",
    ),
    "tumours": (
        "tumour_id",
        "patient_id",
        "side",
        "diagnosis_date",
        "histology",
        "ct",
        "cn",
        "cm",
        "tnm_prefix",
    ),
    "imaging": (
        "tumour_id",
        "date",
        "modality",
        "size_mm",
        "renal_exophytic_pct",
        "renal_nearness_mm",
        "renal_ap",
        "renal_polar",
        "renal_hilar",
        "padua_polar",
        "padua_exophytic_pct",
        "padua_rim",
        "padua_sinus",
        "padua_ucs",
        "padua_face",
    ),
    "interventions": (
        "intervention_id",
        "patient_id",
        "tumour_id",
        "date",
        "type",
        "side",
        "approach",
        "intent",
        "warm_ischemia_min",
        "cold_ischemia_min",
        "blood_loss_ml",
        "operative_time_min",
        "transfusion_units",
        "length_of_stay_days",
        "conversion",
        "dialysis_expected_preop",
        "parent_intervention_id",
        "intent_derived",
        "parent_intervention_id_derived",
    ),
    "pathology": (
        "intervention_id",
        "histology",
        "isup_grade",
        "pt",
        "pn",
        "pm",
        "tnm_prefix",
        "size_mm",
        "margin",
        "necrosis",
        "sarcomatoid",
    ),
    "complications": ("intervention_id", "date", "clavien_dindo", "description"),
    "labs": (
        "patient_id",
        "date",
        "test",
        "value",
        "unit",
        "lln",
        "uln",
        "equation",
        "egfr",
        "egfr_equation",
        "loinc",
        "ucum",
    ),
    "events": ("patient_id", "tumour_id", "date", "type", "detail"),
    # The coded records.
    "staging": (
        "tumour_id",
        "date",
        "classification",
        "t_category",
        "n_category",
        "m_category",
        "stage_group",
        "ajcc_edition",
        "basis",
    ),
    "performance": ("patient_id", "date", "ecog", "karnofsky"),
    "disease_status": ("patient_id", "tumour_id", "date", "status", "evidence"),
    "metastases": ("patient_id", "tumour_id", "date", "site", "detection"),
    "systemic_therapy": (
        "patient_id",
        "tumour_id",
        "agent",
        "regimen",
        "line",
        "start_date",
        "end_date",
        "stop_reason",
    ),
    "radiotherapy": (
        "patient_id",
        "tumour_id",
        "start_date",
        "end_date",
        "modality",
        "site",
        "dose_gy",
        "fractions",
    ),
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "patients": ("patient_id", "sex", "birth_date"),
    "tumours": ("tumour_id", "patient_id", "side", "diagnosis_date"),
    "imaging": ("tumour_id", "date", "size_mm"),
    "interventions": ("intervention_id", "patient_id", "date", "type"),
    "pathology": ("intervention_id",),
    "complications": ("intervention_id", "clavien_dindo"),
    "labs": ("patient_id", "date", "test", "value", "unit"),
    "events": ("patient_id", "date", "type"),
    "staging": ("tumour_id", "date", "classification", "ajcc_edition"),
    "performance": ("patient_id", "date"),
    "disease_status": ("patient_id", "date", "status"),
    "metastases": ("patient_id", "date", "site"),
    "systemic_therapy": ("patient_id", "agent", "start_date"),
    "radiotherapy": ("patient_id", "start_date", "site"),
}

_ID_COLUMNS = {
    "patient_id",
    "tumour_id",
    "intervention_id",
    "parent_intervention_id",
    "parent_intervention_id_derived",
}
_DATE_COLUMNS = {
    "birth_date",
    "death_date",
    "last_contact_date",
    "followup_end_date",
    "diagnosis_date",
    "date",
    "start_date",
    "end_date",
}
_BOOL_COLUMNS = {"black_race", "dialysis_expected_preop", "renal_hilar", "necrosis", "sarcomatoid"}
_NUMBER_COLUMNS = {
    "size_mm",
    "renal_exophytic_pct",
    "renal_nearness_mm",
    "padua_exophytic_pct",
    "warm_ischemia_min",
    "cold_ischemia_min",
    "blood_loss_ml",
    "operative_time_min",
    "transfusion_units",
    "length_of_stay_days",
    "isup_grade",
    "value",
    "lln",
    "uln",
    "egfr",
    "ecog",
    "karnofsky",
    "line",
    "dose_gy",
    "fractions",
}
_TRUE = {"true", "t", "yes", "y", "1"}
_EDGE_SPACE = re.compile(r"\0\s|\s\0|\0\0")
_FALSE = {"false", "f", "no", "n", "0"}


class FramesError(Refusal, ValueError):
    """A registry frame could not be read; the message names table, column and values."""


def _is_text(series: pd.Series) -> bool:
    """Plain Python strings (C-level check; avoids per-value string work on big frames)."""
    return series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) == "string"


def _blank(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
        return series.isna()
    return series.isna() | (series.astype("string").str.strip() == "")


def _edge_space(texts: pd.Series) -> bool:
    """Does any text start or end with whitespace (or is empty)?

    One C-level join and one regex scan: a per-value `str.contains` took seconds on the
    million-row id columns of a large registry. NUL separates values; a NUL inside a value
    can only cause a false alarm, which sends the column down the exact (slow) path.
    """
    joined = "\0" + "\0".join(texts.dropna().tolist()) + "\0"
    if "\0\0" in joined:  # an empty value
        return True
    if len(joined.split(None, 1)) == 1:  # no whitespace anywhere (the usual case): one scan
        return False
    return _EDGE_SPACE.search(joined) is not None


def _ids(series: pd.Series) -> pd.Series:
    """Ids as text, so integer ids from a database and text ids from CSV join alike."""
    if _is_text(series) and not _edge_space(series):  # so no value is "" either
        return series.where(series.notna(), None)
    if pd.api.types.is_float_dtype(series):
        whole = series.dropna()
        if (whole == whole.round()).all():
            series = series.astype("Int64")
    text = series.astype("string").str.strip()
    text = text.where(text != "")
    return text.astype(object).where(text.notna(), None)


def _all_missing(column: str, length: int) -> pd.Series:
    """The typed all-blank column the general path would produce, without per-value work
    (studies load only the columns they read; the rest arrive as None)."""
    if column in _DATE_COLUMNS:
        return pd.Series(np.full(length, np.datetime64("NaT"), dtype="datetime64[ns]"))
    if column in _NUMBER_COLUMNS:
        return pd.Series(np.full(length, np.nan))
    if column in _BOOL_COLUMNS:
        return pd.Series(pd.array([pd.NA] * length, dtype="boolean"))
    return pd.Series(np.full(length, None, dtype=object))


def _parse(table: str, column: str, series: pd.Series) -> pd.Series:
    if len(series) and series.dtype == object and series.isna().all():
        return _all_missing(column, len(series)).set_axis(series.index)
    if column in _ID_COLUMNS:
        return _ids(series)
    if column in _DATE_COLUMNS and pd.api.types.is_datetime64_any_dtype(series):
        return series.dt.tz_localize(None) if series.dt.tz is not None else series
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if column in _NUMBER_COLUMNS and numeric:
        return series.astype(float)
    if column in _BOOL_COLUMNS and pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    if column not in _DATE_COLUMNS | _NUMBER_COLUMNS | _BOOL_COLUMNS and _is_text(series):
        # Free-text and coded columns have few distinct values: strip each once.
        uniques = series.unique()
        stripped = {u: (u.strip() or None) for u in uniques if isinstance(u, str)}
        if all(k is v for k, v in stripped.items()):  # nothing to strip or blank out
            if all(u is None or isinstance(u, str) for u in uniques):
                return series  # already text-or-None
            return series.where(series.notna(), None)
        return series.map(stripped).astype(object).where(series.notna(), None)
    blank = _blank(series)
    out: pd.Series
    if column in _DATE_COLUMNS:
        out = pd.to_datetime(series.where(~blank), errors="coerce", format="mixed")
        kind = "dates (YYYY-MM-DD)"
    elif column in _NUMBER_COLUMNS:
        out = pd.to_numeric(series.where(~blank), errors="coerce")
        kind = "numbers"
    elif column in _BOOL_COLUMNS:
        text = series.astype("string").str.strip().str.lower()
        mapping = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}
        out = text.map(mapping).astype("boolean")
        kind = "true/false"
    else:
        text = series.astype("string").str.strip()
        return text.where(~blank).astype(object).where(~blank, None)
    bad = out.isna() & ~blank
    if bad.any():
        examples = series[bad].astype(str).unique()[:3].tolist()
        raise FramesError(
            f"{table}.{column}: {int(bad.sum())} value(s) are not {kind}, e.g. {examples}"
        )
    return out


def _normalise(table: str, frame: pd.DataFrame | None) -> pd.DataFrame:
    cols = COLUMNS[table]
    if frame is None:
        frame = pd.DataFrame(columns=list(cols))
    missing = [c for c in REQUIRED[table] if c not in frame.columns]
    if missing:
        raise FramesError(
            f"{table}: required column(s) {missing} missing (have {list(frame.columns)})"
        )
    out = frame.copy().reset_index(drop=True)
    for col in cols:
        if col not in out.columns:
            out[col] = None
        out[col] = _parse(table, col, out[col])
    for col in REQUIRED[table]:
        empty = out[col].isna()
        if empty.any():
            raise FramesError(
                f"{table}.{col}: required but blank in {int(empty.sum())} row(s) "
                f"(rows {out.index[empty][:5].tolist()})"
            )
    return out


@dataclass(frozen=True)
class RegistryFrames:
    """One DataFrame per registry table (registry CSV contract columns plus derived ones)."""

    patients: pd.DataFrame
    tumours: pd.DataFrame
    imaging: pd.DataFrame
    interventions: pd.DataFrame
    pathology: pd.DataFrame
    complications: pd.DataFrame
    labs: pd.DataFrame
    events: pd.DataFrame
    # The coded records (built as empty frames with their columns when not given).
    staging: pd.DataFrame = field(default_factory=pd.DataFrame)
    performance: pd.DataFrame = field(default_factory=pd.DataFrame)
    disease_status: pd.DataFrame = field(default_factory=pd.DataFrame)
    metastases: pd.DataFrame = field(default_factory=pd.DataFrame)
    systemic_therapy: pd.DataFrame = field(default_factory=pd.DataFrame)
    radiotherapy: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def build(
        cls, tables: Mapping[str, pd.DataFrame | None] | None = None, **kwargs: pd.DataFrame | None
    ) -> RegistryFrames:
        """Normalise raw frames (any subset; absent tables are empty) into typed frames."""
        given: dict[str, Any] = {**(tables or {}), **kwargs}
        unknown = sorted(set(given) - set(COLUMNS))
        if unknown:
            raise FramesError(f"unknown table(s) {unknown} (allowed: {list(COLUMNS)})")
        return cls(**{name: _normalise(name, given.get(name)) for name in COLUMNS})

    @classmethod
    def empty(cls) -> RegistryFrames:
        return cls.build()

    def as_dict(self) -> dict[str, pd.DataFrame]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# ------------------------------------------------------------------ the whole registry, read
# (SQLAlchemy and the models are imported inside: analyses that only take frames do not
# need them.)


# Derived columns stored beside the data (never exported): read back with it.
_STORED_DERIVED: dict[str, tuple[str, ...]] = {
    "interventions": (
        "side_derived",
        "intent_derived",
        "parent_intervention_id_derived",
        "lineage_source",
    ),
    "labs": ("egfr", "egfr_equation", "loinc", "ucum"),
    "complications": ("seq",),
}


def _stored(engine: Engine, name: str) -> pd.DataFrame:
    """Every row of one table: the data dictionary's columns, then the derived ones."""
    from sqlalchemy import select

    from renalpath.registry.dictionary import FILES
    from renalpath.registry.models import TABLES

    cols = [*FILES[name].column_names, *_STORED_DERIVED.get(name, ())]
    table = TABLES[name]
    with engine.connect() as conn:
        rows = conn.execute(select(*[table.c[c] for c in cols])).all()
    frame = pd.DataFrame(rows, columns=cols)
    for col in FILES[name].columns:
        if col.type == "date":
            frame[col.name] = pd.to_datetime(frame[col.name])
        elif col.type == "float":
            frame[col.name] = pd.to_numeric(frame[col.name]).astype(float)
        elif col.type == "int":
            frame[col.name] = pd.to_numeric(frame[col.name]).astype("Int64")
    if name == "labs":
        frame["egfr"] = pd.to_numeric(frame["egfr"]).astype(float)
    return frame


def read_registry(engine: Engine, equation: str = DEFAULT_EQUATION) -> RegistryFrames:
    """Every stored row and column of every table (see the module docstring)."""
    from renalpath.registry.dictionary import FILES
    from renalpath.registry.followup import followup_end

    raw = {name: _stored(engine, name) for name in FILES}
    if equation != DEFAULT_EQUATION:
        pats = raw["patients"].set_index("patient_id", drop=False)
        egfr, eq = compute_egfr(raw["labs"], pats, equation)
        raw["labs"]["egfr"] = egfr
        raw["labs"]["egfr_equation"] = eq
    end = followup_end(raw["patients"], raw["events"], raw["labs"], raw["interventions"])
    raw["patients"]["followup_end_date"] = raw["patients"]["patient_id"].map(end)
    return RegistryFrames.build(raw)
