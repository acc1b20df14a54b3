"""Salvage surgery in the synthetic cohort: about 1–2 % of operated patients (the founding
salvage-surgery study: 13 of 839 operated patients, 1.5 %), some with explicit intent, some
left blank for the registry to derive from a residual_disease/local_recurrence event (the
derived lineage)."""

from __future__ import annotations

import pandas as pd
import pytest

from renalpath.synth.writer import write_registry

KIDNEY_SURGERY = ("partial_nephrectomy", "radical_nephrectomy")
ABLATION = ("cryoablation", "radiofrequency_ablation", "microwave_ablation")
FAILURE_EVENTS = ("residual_disease", "local_recurrence")


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("synth_salvage")
    write_registry(out, 2000, seed=1)
    return {
        name: pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False)
        for name in ("interventions", "events", "tumours")
    }


def _derivable_salvage(rows: pd.DataFrame, iv: pd.DataFrame, ev: pd.DataFrame) -> pd.Series:
    """The lineage rule, written out independently: an operation with blank intent is salvage
    when an earlier ablation or PN treated the same tumour and a failure event on that tumour lies
    between the two (ISO date strings compare in date order). `rows` ⊂ `iv` are judged."""
    fails = ev[ev["type"].isin(FAILURE_EVENTS)]
    curative = iv[iv["type"].isin(("partial_nephrectomy", *ABLATION))]
    result = []
    for _, row in rows.iterrows():
        hit = False
        if row["intent"] == "" and row["type"] in (*KIDNEY_SURGERY, *ABLATION) and row["tumour_id"]:
            earlier = curative[
                (curative["tumour_id"] == row["tumour_id"]) & (curative["date"] < row["date"])
            ]
            for _, prev in earlier.iterrows():
                between = fails[
                    (fails["tumour_id"] == row["tumour_id"])
                    & (fails["date"] > prev["date"])
                    & (fails["date"] <= row["date"])
                ]
                hit = hit or len(between) > 0
        result.append(hit)
    return pd.Series(result, index=rows.index)


def test_salvage_surgery_rate_is_about_one_to_two_percent(reg: dict[str, pd.DataFrame]) -> None:
    iv, ev = reg["interventions"], reg["events"]
    surgery = iv[iv["type"].isin(KIDNEY_SURGERY)]
    explicit = surgery["intent"] == "salvage"
    derived = _derivable_salvage(surgery, iv, ev)
    operated = surgery["patient_id"].nunique()
    salvage_patients = surgery.loc[explicit | derived, "patient_id"].nunique()
    rate = salvage_patients / operated
    # ~1,500 operated patients: binomial SD of a 1.5 % rate is ~0.3 %, so 0.9–2.2 % is ±2 SD.
    assert 0.009 <= rate <= 0.022, (salvage_patients, operated)
    assert explicit.sum() >= 1, "no salvage with explicit intent"
    assert derived.sum() >= 1, "no salvage left for the registry to derive"


def test_blank_intent_salvage_has_failure_event_between(reg: dict[str, pd.DataFrame]) -> None:
    """Every operation on a previously ablated/resected tumour with blank intent is preceded by
    a failure event — otherwise the registry would wrongly derive it as primary."""
    iv, ev = reg["interventions"], reg["events"]
    repeat = iv[iv["type"].isin((*KIDNEY_SURGERY, *ABLATION)) & (iv["tumour_id"] != "")]
    repeat = repeat[repeat.duplicated("tumour_id", keep="first")]
    blank = repeat[repeat["intent"] == ""]
    assert len(blank) > 0
    assert _derivable_salvage(blank, iv, ev).all()


def test_salvage_follows_failed_ablation_mostly_cryo(reg: dict[str, pd.DataFrame]) -> None:
    """In the founding salvage-surgery study the failed primary modality was mostly cryotherapy."""
    iv = reg["interventions"]
    explicit_parent = iv[iv["parent_intervention_id"] != ""]
    assert len(explicit_parent) >= 1
    parents = iv.set_index("intervention_id").loc[explicit_parent["parent_intervention_id"]]
    assert set(parents["type"]) <= {"partial_nephrectomy", "radical_nephrectomy", *ABLATION}
    ablated_first = iv[iv["type"].isin(ABLATION)].drop_duplicates("tumour_id")
    assert (ablated_first["type"] == "cryoablation").mean() > 0.5


def test_registry_derivation_agrees(reg: dict[str, pd.DataFrame]) -> None:
    """The registry's own lineage derivation finds the same salvage operations."""
    derived_mod = pytest.importorskip(
        "renalpath.registry.derived", reason="registry lineage derivation not available yet"
    )
    iv = reg["interventions"].replace("", None)
    ev = reg["events"].replace("", None)
    tumours = reg["tumours"].replace("", None)
    for frame in (iv, ev):
        frame["date"] = pd.to_datetime(frame["date"])
    lineage = derived_mod.derive_lineage(iv, tumours, ev).set_index("intervention_id")
    surgery = reg["interventions"][reg["interventions"]["type"].isin(KIDNEY_SURGERY)]
    derivable = _derivable_salvage(surgery, reg["interventions"], reg["events"])
    ours = surgery.loc[(surgery["intent"] == "salvage") | derivable, "intervention_id"]
    theirs = lineage.loc[surgery["intervention_id"], "intent_derived"]
    assert set(theirs[theirs == "salvage"].index) == set(ours)
