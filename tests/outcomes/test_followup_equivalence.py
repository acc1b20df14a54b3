"""One follow-up-end rule, reached three ways that must agree.

The rule (docs/data-model.md) and its two forms, pandas and SQL, are in `registry.followup`
(tests/registry/test_followup.py compares the forms on generated registries). Here, on a
synthetic registry with deaths, lost-to-follow-up patients and late labs, the three ways the
project reaches it must give the same date for every patient:

- the whole registry read in pandas (`registry.frames.read_registry`),
- the study loaders, where the database computes it (`outcomes.source`),
- the analyses, for frames that lack it (`outcomes.cohorts.followup_end`).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import create_engine

from renalpath.clinical.durations import DAYS_PER_MONTH, DAYS_PER_YEAR, days_to_months
from renalpath.outcomes import cohorts
from renalpath.outcomes import source as sql_source
from renalpath.registry.db import upgrade
from renalpath.registry.frames import read_registry
from renalpath.registry.importer import import_folder
from renalpath.synth.writer import write_registry


def test_three_followup_end_implementations_agree(tmp_path: Path) -> None:
    folder = tmp_path / "reg"
    write_registry(folder, 120, 7)
    engine = create_engine(f"sqlite:///{tmp_path / 'r.db'}")
    upgrade(engine)
    assert import_folder(engine, folder).written

    by_pandas = read_registry(engine).patients.set_index("patient_id")["followup_end_date"]
    sql_frames = sql_source.load_frames(engine)
    by_sql = sql_frames.patients.set_index("patient_id")["followup_end_date"]
    blanked = sql_frames.patients.assign(followup_end_date=pd.NaT)
    frames = type(sql_frames)(**{**sql_frames.__dict__, "patients": blanked})
    by_analysis = cohorts.followup_end(frames)

    assert by_pandas.notna().all()
    ids = by_pandas.index
    pd.testing.assert_series_equal(
        pd.to_datetime(by_sql.reindex(ids)), pd.to_datetime(by_pandas), check_names=False
    )
    pd.testing.assert_series_equal(
        pd.to_datetime(by_analysis.reindex(ids)), pd.to_datetime(by_pandas), check_names=False
    )


def test_month_is_a_twelfth_of_a_julian_year() -> None:
    assert DAYS_PER_YEAR == 365.25
    assert DAYS_PER_MONTH == 30.4375
    assert days_to_months(365.25) == 12.0
    assert cohorts.DAYS_PER_MONTH is DAYS_PER_MONTH
