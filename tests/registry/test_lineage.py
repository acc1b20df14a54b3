"""Salvage lineage on hand-built histories, through a real import."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from renalpath.registry.followup import months_between
from renalpath.registry.frames import read_registry
from renalpath.registry.importer import import_folder
from tests.registry.registry_fixtures import Rows, write_folder


def _history(
    interventions: list[dict[str, str]],
    events: list[dict[str, str]],
    tumours: list[dict[str, str]] | None = None,
) -> Rows:
    return {
        "patients": [
            {
                "patient_id": "P1",
                "sex": "female",
                "birth_date": "1950-03-03",
                "last_contact_date": "2021-06-30",
            }
        ],
        "tumours": tumours
        if tumours is not None
        else [
            {"tumour_id": "TL", "patient_id": "P1", "side": "left", "diagnosis_date": "2015-01-01"},
            {
                "tumour_id": "TR",
                "patient_id": "P1",
                "side": "right",
                "diagnosis_date": "2018-01-01",
            },
        ],
        "interventions": interventions,
        "events": events,
    }


def _lineage(engine: Engine, tmp_path: Path, rows: Rows) -> dict[str, tuple[object, ...]]:
    result = import_folder(engine, write_folder(tmp_path / "reg", rows))
    assert result.written, result.report.render()
    iv = read_registry(engine).interventions.set_index("intervention_id")
    return {
        i: (r.intent_derived, r.parent_intervention_id_derived, r.lineage_source)
        for i, r in iv.iterrows()
    }


def iv(
    iid: str, date: str, type_: str, tumour: str = "", side: str = "", **kw: str
) -> dict[str, str]:
    return {
        "intervention_id": iid,
        "patient_id": "P1",
        "tumour_id": tumour,
        "side": side,
        "date": date,
        "type": type_,
        **kw,
    }


def ev(date: str, type_: str, tumour: str = "") -> dict[str, str]:
    return {"patient_id": "P1", "tumour_id": tumour, "date": date, "type": type_}


def test_salvage_derived_from_local_recurrence(engine: Engine, tmp_path: Path) -> None:
    rows = _history(
        [
            iv("A", "2015-02-01", "cryoablation", "TL"),
            iv("B", "2017-05-01", "partial_nephrectomy", "TL"),
        ],
        [ev("2016-11-01", "local_recurrence", "TL")],
    )
    got = _lineage(engine, tmp_path, rows)
    assert got["A"] == ("primary", None, "derived")
    assert got["B"] == ("salvage", "A", "derived")


def test_no_failure_event_means_no_salvage(engine: Engine, tmp_path: Path) -> None:
    rows = _history(
        [
            iv("A", "2015-02-01", "cryoablation", "TL"),
            iv("B", "2017-05-01", "partial_nephrectomy", "TL"),
        ],
        [ev("2017-06-01", "local_recurrence", "TL")],  # after B: not between
    )
    assert _lineage(engine, tmp_path, rows)["B"] == ("primary", None, "derived")


def test_explicit_intent_wins(engine: Engine, tmp_path: Path) -> None:
    rows = _history(
        [
            iv("A", "2015-02-01", "cryoablation", "TL"),
            iv("B", "2017-05-01", "partial_nephrectomy", "TL", intent="primary"),
            iv("C", "2018-05-01", "radical_nephrectomy", "TL", intent="salvage"),
        ],
        [ev("2016-11-01", "residual_disease", "TL")],
    )
    got = _lineage(engine, tmp_path, rows)
    # B: the recurrence would make it salvage, but the registrar said primary.
    assert got["B"] == ("primary", None, "explicit")
    # C: explicit salvage with blank parent gets the latest eligible earlier one (B).
    assert got["C"] == ("salvage", "B", "explicit")


def test_tumour_ids_missing_uses_side(engine: Engine, tmp_path: Path) -> None:
    rows = _history(
        [
            iv("A", "2015-02-01", "radiofrequency_ablation", side="left"),
            iv("B", "2016-03-01", "cryoablation", side="right"),
            iv("C", "2017-05-01", "microwave_ablation", side="left"),
        ],
        [ev("2016-01-01", "residual_disease")],
    )
    got = _lineage(engine, tmp_path, rows)
    assert got["C"] == ("salvage", "A", "derived")  # same side as A; re-ablation
    assert got["B"] == ("primary", None, "derived")  # other side: not A's salvage


def test_new_contralateral_tumour_is_not_salvage(engine: Engine, tmp_path: Path) -> None:
    rows = _history(
        [
            iv("A", "2015-02-01", "cryoablation", "TL"),
            iv("B", "2018-03-01", "partial_nephrectomy", "TR"),
        ],
        [ev("2017-01-01", "local_recurrence", "TL")],
    )
    got = _lineage(engine, tmp_path, rows)
    assert got["B"] == ("primary", None, "derived")


def test_radical_is_never_a_parent(engine: Engine, tmp_path: Path) -> None:
    rows = _history(
        [
            iv("A", "2015-02-01", "radical_nephrectomy", "TL"),
            iv("B", "2017-05-01", "cryoablation", "TL"),
        ],
        [ev("2016-11-01", "local_recurrence", "TL")],
    )
    assert _lineage(engine, tmp_path, rows)["B"] == ("primary", None, "derived")


def test_followup_end_and_months(engine: Engine, tmp_path: Path) -> None:
    rows = _history(
        [iv("A", "2015-02-01", "cryoablation", "TL")], [ev("2022-03-01", "last_followup")]
    )
    rows["labs"] = [
        {
            "patient_id": "P1",
            "date": "2021-12-01",
            "test": "creatinine",
            "value": "80",
            "unit": "µmol/L",
        }
    ]
    import_folder(engine, write_folder(tmp_path / "reg", rows))
    pats = read_registry(engine).patients
    end = pats.loc[0, "followup_end_date"]
    assert end == pd.Timestamp("2022-03-01")  # the event is later than last contact and labs
    months = months_between(pd.Series([pd.Timestamp("2015-02-01")]), pd.Series([end]))
    assert (
        months.iloc[0] == (pd.Timestamp("2022-03-01") - pd.Timestamp("2015-02-01")).days / 30.4375
    )


def test_frames_recompute_egfr_with_another_equation(engine: Engine, tmp_path: Path) -> None:
    rows = _history([], [])
    rows["labs"] = [
        {
            "patient_id": "P1",
            "date": "2020-03-03",
            "test": "creatinine",
            "value": "1.0",
            "unit": "mg/dL",
        }
    ]
    import_folder(engine, write_folder(tmp_path / "reg", rows))
    labs = read_registry(engine, equation="mdrd").labs
    # MDRD (IDMS 175; MDRD, Levey 2006): 175 · 1.0^-1.154 · 70^-0.203 · 0.742 (female, age 70).
    assert labs.loc[0, "egfr"] == pytest.approx(175 * 70**-0.203 * 0.742, rel=1e-9)
    assert labs.loc[0, "egfr_equation"] == "mdrd"
    default = read_registry(engine).labs
    assert default.loc[0, "egfr_equation"] == "ckd-epi-2021"
