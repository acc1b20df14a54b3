"""`survival_study` end to end: the KiTS19 cohort against R, and the hand-built registry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from renalpath.outcomes.survival_by_group import survival_study
from renalpath.registry.frames import RegistryFrames

from .registry_fixture import WINDOW, registry

OP_DATE = pd.Timestamp("2015-01-01")


def _kits19_frames(kits19_dir: Path) -> RegistryFrames:
    """KiTS19 flat CSV → registry frames: one nephrectomy per case on a common date, follow-up
    ending `vital_days_after_surgery` later (death when vital_status == dead)."""
    d = pd.read_csv(kits19_dir / "kits19_registry_flat.csv")
    end = OP_DATE + pd.to_timedelta(d.vital_days_after_surgery, unit="D")
    patients = pd.DataFrame(
        {
            "patient_id": d.case_id,
            "sex": d.gender,
            "birth_date": OP_DATE - pd.to_timedelta(d.age_at_nephrectomy * 365.25, unit="D"),
            "death_date": end.where(d.vital_status == "dead"),
            "last_contact_date": end,
        }
    )
    interventions = pd.DataFrame(
        {
            "intervention_id": d.case_id + "-op",
            "patient_id": d.case_id,
            "date": OP_DATE,
            "type": d.surgical_procedure,
        }
    )
    pathology = pd.DataFrame({"intervention_id": d.case_id + "-op", "pt": d.pT.astype(str)})
    return RegistryFrames.build(patients=patients, interventions=interventions, pathology=pathology)


@pytest.mark.parametrize(
    ("by", "model", "var"),
    [
        (None, "~1", None),
        ("type", "~surgical_procedure", "surgical_procedure"),
        ("pt_group", "~pT_group", "pT_group"),
    ],
)
def test_kits19_overall_survival_matches_r(
    kits19_dir: Path, by: str | None, model: str, var: str | None
) -> None:
    study = survival_study(_kits19_frames(kits19_dir), "overall", by)
    km_ref = pd.read_csv(kits19_dir / "kits19_km_R.csv")
    km_ref = km_ref[km_ref.model == model]
    assert study.n == 210
    for km in study.groups:
        stratum = "all" if var is None else f"{var}={km.label}"
        ref = km_ref[km_ref.stratum == stratum].reset_index(drop=True)
        got = km.table
        assert len(got) == len(ref), stratum  # (T0 has no deaths: no rows in R either)
        assert got["time"].tolist() == ref["time_days"].astype(float).tolist()
        assert got["n_risk"].tolist() == ref["n_risk"].tolist()
        assert got["n_event"].tolist() == ref["n_event"].tolist()
        np.testing.assert_allclose(got["survival"], ref["survival"], rtol=1e-9)
        np.testing.assert_allclose(got["std_err"], ref["std_err"], rtol=1e-8)
        np.testing.assert_allclose(got["ci_low"], ref["lower95_log"], rtol=1e-8)
        np.testing.assert_allclose(got["ci_high"], ref["upper95_log"], rtol=1e-8)
    fixed = pd.read_csv(kits19_dir / "kits19_km_fixed_times_R.csv")
    for km in study.groups:
        stratum = "all" if var is None else f"{var}={km.label}"
        ref = fixed[(fixed.model == model) & (fixed.stratum == stratum)].reset_index(drop=True)
        if ref.empty:
            continue
        at = km.at(ref.time_days.tolist())
        assert at["n_risk"].tolist() == ref["n_risk"].tolist()
        np.testing.assert_allclose(at["survival"].astype(float), ref["survival"], rtol=1e-9)
        np.testing.assert_allclose(at["ci_low"].astype(float), ref["lower95_log"], rtol=1e-8)
    if var is not None:
        lr_ref = pd.read_csv(kits19_dir / "kits19_logrank_R.csv")
        lr_ref = lr_ref[lr_ref.model == model].reset_index(drop=True)
        assert study.logrank is not None
        assert study.logrank.chisq == pytest.approx(lr_ref.chisq[0], rel=1e-8)
        assert study.logrank.p_value == pytest.approx(lr_ref.p_value[0], rel=1e-7)
        np.testing.assert_allclose(study.logrank.expected, lr_ref.expected, rtol=1e-8)
        assert list(study.logrank.observed) == lr_ref.observed.tolist()
    json.dumps(study.to_json_dict(), allow_nan=False)


def test_overall_survival_on_hand_registry() -> None:
    s = survival_study(registry(), "overall", "type", *WINDOW)
    doc = s.to_json_dict()
    # First PN/RN per patient in the window: 10 patients; RN first for P2, P5, P12 → 3 RN.
    groups = {g["group"]: g for g in doc["groups"]}
    assert groups["radical_nephrectomy"]["n"] == 3
    assert groups["partial_nephrectomy"]["n"] == 7
    # Only P2 died: (2012-06-01 − 2011-01-10) = 508 days after her RN.
    assert groups["radical_nephrectomy"]["events"] == 1
    assert groups["radical_nephrectomy"]["table"][0]["time_days"] == 508
    assert groups["partial_nephrectomy"]["events"] == 0
    assert doc["logrank_p"] is not None and 0 < doc["logrank_p"] <= 1
    assert {"time_days", "n_risk", "n_event", "survival", "ci_low", "ci_high"} == set(
        groups["radical_nephrectomy"]["table"][0]
    )
    json.dumps(doc, allow_nan=False)


def test_recurrence_free_with_competing_risks() -> None:
    s = survival_study(registry(), "recurrence-free", None, *WINDOW)
    # Events after the first nephrectomy: P1 local recurrence (365 d), P2 metastasis (264 d).
    assert s.groups[0].events == 2
    cr = s.competing_risks
    assert cr is not None
    at = cr.at([400])
    # Aalen-Johansen, by hand over the 10 first operations (times in days):
    # t=264 (P2) n=10 → CIF_rec = 1/10, S = 9/10; t=365 (P1) n = those with time ≥ 365.
    n365 = int((s.data["time_days"] >= 365).sum())
    assert at["recurrence"].iloc[0] == pytest.approx(0.1 + 0.9 / n365)
    assert at["death_without_recurrence"].iloc[0] == 0.0


def test_cancer_specific_censors_other_deaths() -> None:
    s = survival_study(registry(), "cancer-specific", None, *WINDOW)
    assert s.groups[0].events == 1  # P2 died of RCC


def test_by_field_and_endpoint_are_validated() -> None:
    with pytest.raises(ValueError, match="allowed"):
        survival_study(registry(), "overall", "shoe_size")
    with pytest.raises(ValueError, match="endpoint"):
        survival_study(registry(), "progression-free")


def test_empty_window_is_a_message_not_a_crash() -> None:
    doc = survival_study(registry(), "overall", "type", "1990-01-01", "1990-12-31").to_json_dict()
    assert doc["n"] == 0 and doc["groups"] == [] and doc["logrank_p"] is None
    assert any("no patients" in n for n in doc["notes"])
    json.dumps(doc, allow_nan=False)
