"""Clinical and temporal coherence of the synthetic cohort.

Checked independently of the generator: sizes against AJCC 8 through
`renalpath.clinical.staging.t_category`, creatinine units through
`renalpath.clinical.units` (B1), date order from the CSV rows themselves.
"""

from __future__ import annotations

import pandas as pd
import pytest

from renalpath.clinical.staging import t_category
from renalpath.clinical.units import creatinine_to_mg_dl
from renalpath.synth.writer import write_registry

N = 3000
KIDNEY_SURGERY = ("partial_nephrectomy", "radical_nephrectomy")


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("synth_invariants")
    write_registry(out, N, seed=77)
    frames = {}
    for name in (
        "patients",
        "tumours",
        "imaging",
        "interventions",
        "pathology",
        "complications",
        "labs",
        "events",
    ):
        frame = pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False)
        for col in frame.columns:
            if col == "date" or col.endswith("_date"):
                frame[col] = pd.to_datetime(frame[col].replace("", None))
        frames[name] = frame
    return frames


def _by_patient(reg: dict[str, pd.DataFrame], col: str) -> pd.Series:
    return reg["patients"].set_index("patient_id")[col]


def test_demographics_are_plausible(reg: dict[str, pd.DataFrame]) -> None:
    p = reg["patients"]
    male = (p["sex"] == "male").mean()
    assert 0.55 < male < 0.75  # RCC is about twice as common in men
    first_dx = reg["tumours"].groupby("patient_id")["diagnosis_date"].min()
    age = (first_dx - _by_patient(reg, "birth_date")).dt.days / 365.25
    assert (
        60 < age.mean() < 68
    )  # the founding salvage-surgery study: mean age 64 in the salvage series
    assert age.min() >= 18


def test_mostly_small_renal_masses_some_advanced_some_metastatic(
    reg: dict[str, pd.DataFrame],
) -> None:
    t = reg["tumours"]
    share = t["ct"].value_counts(normalize=True)
    assert share.get("T1a", 0) > 0.35
    assert share.get("T1a", 0) + share.get("T1b", 0) > 0.6
    assert 0.05 < sum(share.get(c, 0) for c in ("T3a", "T3b", "T3c", "T4")) < 0.3
    m1 = (t["cm"] == "M1").mean()
    assert 0.04 < m1 < 0.2
    assert (t["histology"] == "clear_cell").mean() > 0.45


def test_diagnostic_imaging_size_matches_clinical_t(reg: dict[str, pd.DataFrame]) -> None:
    t = reg["tumours"].set_index("tumour_id")
    first = reg["imaging"].sort_values("date").groupby("tumour_id").first()
    confined = t[t["ct"].isin(("T1a", "T1b", "T2a", "T2b"))]
    sizes = first.loc[confined.index, "size_mm"].astype(float)
    expected = sizes.map(t_category)
    assert (expected == confined["ct"]).all()


def test_pathological_t_agrees_with_pathological_size(reg: dict[str, pd.DataFrame]) -> None:
    """AJCC 8: pT1a–pT2b are defined by size; the importer warns otherwise."""
    pa = reg["pathology"]
    confined = pa[pa["pt"].isin(("T1a", "T1b", "T2a", "T2b"))]
    assert len(confined) > 500
    expected = confined["size_mm"].astype(float).map(t_category)
    assert (expected == confined["pt"]).all()


def test_pathology_only_for_surgical_specimens(reg: dict[str, pd.DataFrame]) -> None:
    iv = reg["interventions"].set_index("intervention_id")
    types = iv.loc[reg["pathology"]["intervention_id"], "type"]
    assert set(types) <= set(KIDNEY_SURGERY)


def test_dates_are_in_order(reg: dict[str, pd.DataFrame]) -> None:
    birth = _by_patient(reg, "birth_date")
    death = _by_patient(reg, "death_date")
    last = _by_patient(reg, "last_contact_date")
    t = reg["tumours"]
    assert (t["diagnosis_date"] > t["patient_id"].map(birth)).all()
    iv = reg["interventions"]
    dx = iv["tumour_id"].map(t.set_index("tumour_id")["diagnosis_date"])
    with_tumour = iv["tumour_id"] != ""
    assert (iv.loc[with_tumour, "date"] >= dx[with_tumour]).all()  # diagnosis ≤ intervention
    for name in ("interventions", "labs", "events"):
        f = reg[name]
        assert (f["date"] > f["patient_id"].map(birth)).all(), name
        d = f["patient_id"].map(death)
        assert not (d.notna() & (f["date"] > d)).any(), f"{name} after death"
        end = d.fillna(f["patient_id"].map(last))
        assert not (f["date"] > end).any(), f"{name} after the end of follow-up"
    c = reg["complications"].merge(
        iv[["intervention_id", "date", "patient_id"]], on="intervention_id", suffixes=("", "_op")
    )
    assert (c["date"] >= c["date_op"]).all()
    assert not (c["patient_id"].map(death).notna() & (c["date"] > c["patient_id"].map(death))).any()
    p = reg["patients"]
    assert (p["death_date"].notna() | p["last_contact_date"].notna()).all()
    assert (p["death_date"].isna() == (p["death_cause"] == "")).all()


def test_warm_ischaemia_only_for_partial_nephrectomy(reg: dict[str, pd.DataFrame]) -> None:
    iv = reg["interventions"]
    wit = iv["warm_ischemia_min"] != ""
    assert set(iv.loc[wit, "type"]) == {"partial_nephrectomy"}
    pn = iv[iv["type"] == "partial_nephrectomy"]
    assert (pn["warm_ischemia_min"] != "").mean() > 0.8  # a few off-clamp resections
    mean_wit = pd.to_numeric(pn["warm_ischemia_min"].replace("", None)).mean()
    assert 12 < mean_wit < 25


def test_expected_dialysis_flags_only_nephrectomies(reg: dict[str, pd.DataFrame]) -> None:
    iv = reg["interventions"]
    flagged = iv[iv["dialysis_expected_preop"] == "true"]
    assert len(flagged) >= 1
    assert set(flagged["type"]) <= set(KIDNEY_SURGERY)


def test_transfusion_complication_implies_transfused_units(reg: dict[str, pd.DataFrame]) -> None:
    c = reg["complications"]
    tx = c[c["description"] == "blood transfusion"]
    assert (tx["clavien_dindo"] == "II").all()  # Dindo 2004: transfusion is grade II
    units = reg["interventions"].set_index("intervention_id")["transfusion_units"]
    assert (units.loc[tx["intervention_id"]].astype(int) >= 1).all()


def test_creatinine_rises_after_nephrectomy_more_after_radical(
    reg: dict[str, pd.DataFrame],
) -> None:
    """A realistic dip in renal function: creatinine 6–18 months after surgery relative to the
    last value before it, larger after radical than after partial nephrectomy."""
    labs = reg["labs"]
    cr = labs[labs["test"] == "creatinine"].copy()
    cr["mg_dl"] = [
        creatinine_to_mg_dl(float(v), u) for v, u in zip(cr["value"], cr["unit"], strict=True)
    ]
    by_patient = {pid: g for pid, g in cr.groupby("patient_id")}
    iv = reg["interventions"]
    first_ops = iv.sort_values("date").groupby("patient_id").first()
    ratios: dict[str, list[float]] = {"partial_nephrectomy": [], "radical_nephrectomy": []}
    for pid, op in first_ops.iterrows():
        if op["type"] not in ratios or pid not in by_patient:
            continue
        g = by_patient[pid]
        later_ops = iv[(iv["patient_id"] == pid) & (iv["date"] > op["date"])]
        horizon = later_ops["date"].min() if len(later_ops) else pd.Timestamp.max
        pre = g[g["date"] <= op["date"]]
        post = g[
            (g["date"] > op["date"] + pd.Timedelta(days=180))
            & (g["date"] < op["date"] + pd.Timedelta(days=540))
            & (g["date"] < horizon)
        ]
        if len(pre) and len(post) and post["mg_dl"].iloc[0] < 3:  # exclude dialysis
            ratios[op["type"]].append(post["mg_dl"].iloc[0] / pre["mg_dl"].iloc[-1])
    pn = pd.Series(ratios["partial_nephrectomy"]).median()
    rn = pd.Series(ratios["radical_nephrectomy"]).median()
    assert len(ratios["partial_nephrectomy"]) > 300 and len(ratios["radical_nephrectomy"]) > 100
    assert 1.0 < pn < rn
    assert rn > 1.15


def test_some_labs_in_micromol_with_plausible_values(reg: dict[str, pd.DataFrame]) -> None:
    labs = reg["labs"]
    umol = labs[(labs["test"] == "creatinine") & (labs["unit"] == "µmol/L")]
    mg = labs[(labs["test"] == "creatinine") & (labs["unit"] == "mg/dL")]
    assert len(umol) > 0.05 * (len(umol) + len(mg))
    # Within the units' valid ranges (creatinine unit conversion: 0.1–25 mg/dL), checked by the
    # calculator
    for value, unit in zip(
        pd.concat([umol, mg])["value"], pd.concat([umol, mg])["unit"], strict=True
    ):
        creatinine_to_mg_dl(float(value), unit)
    assert pd.to_numeric(umol["value"]).median() > 40  # µmol/L, not mg/dL mislabelled


def test_deaths_and_follow_up(reg: dict[str, pd.DataFrame]) -> None:
    p = reg["patients"]
    causes = p["death_cause"].value_counts()
    assert causes.get("rcc", 0) > 0 and causes.get("other", 0) > 0
    assert 0.05 < p["death_date"].notna().mean() < 0.5
    ev = reg["events"]
    deaths = ev[ev["type"] == "death"]
    assert (
        deaths["date"].values == deaths["patient_id"].map(_by_patient(reg, "death_date")).values
    ).all()
