"""Kaplan-Meier, log-rank and Aalen-Johansen against R `survival` outputs (tests/data/survival)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import AalenJohansenFitter

from renalpath.outcomes.survival import (
    KaplanMeier,
    cumulative_incidence,
    kaplan_meier,
    logrank,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "survival"


def _dataset(name: str) -> pd.DataFrame:
    """time/event/group columns for the R model names used in the refdata files."""
    if name.startswith("aml"):
        d = pd.read_csv(DATA / "aml.csv")
        return pd.DataFrame({"time": d.time, "event": d.status == 1, "x": d.x})
    if name.startswith("ovarian"):
        d = pd.read_csv(DATA / "ovarian.csv")
        return pd.DataFrame({"time": d.futime, "event": d.fustat == 1, "rx": d.rx})
    d = pd.read_csv(DATA / "lung.csv")
    return pd.DataFrame(
        {"time": d.time, "event": d.status == 2, "sex": d.sex, "ph.ecog": d["ph.ecog"]}
    )


def _fit(dataset: str, stratum: str) -> KaplanMeier:
    d = _dataset(dataset)
    if stratum != "all":
        var, value = stratum.split("=")
        d = d[d[var].astype(str).str.replace(r"\.0$", "", regex=True) == value]
    return kaplan_meier(d.time, d.event, label=stratum)


def _cases(file: str) -> list[tuple[str, str]]:
    ref = pd.read_csv(DATA / file)
    return sorted({(r.dataset, r.stratum) for r in ref.itertuples()})


@pytest.mark.parametrize(("dataset", "stratum"), _cases("generated_km_tables_R.csv"))
def test_km_table_matches_r_full_precision(dataset: str, stratum: str) -> None:
    ref = pd.read_csv(DATA / "generated_km_tables_R.csv")
    ref = ref[(ref.dataset == dataset) & (ref.stratum == stratum)].reset_index(drop=True)
    table = _fit(dataset, stratum).table
    assert table["time"].tolist() == ref["time"].astype(float).tolist()
    assert table["n_risk"].tolist() == ref["n_risk"].tolist()
    assert table["n_event"].tolist() == ref["n_event"].tolist()
    np.testing.assert_allclose(table["survival"], ref["survival"], rtol=1e-9, atol=1e-9)
    # R prints 10 significant digits; NA (S = 0) stays NA.
    np.testing.assert_allclose(table["std_err"], ref["std_err"], rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(table["ci_low"], ref["lower95_log"], rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(table["ci_high"], ref["upper95_log"], rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize(("dataset", "stratum"), _cases("published_km_tables_Rout_save.csv"))
def test_km_table_matches_published_rout_save(dataset: str, stratum: str) -> None:
    ref = pd.read_csv(DATA / "published_km_tables_Rout_save.csv")
    ref = ref[(ref.dataset == dataset) & (ref.stratum == stratum)].reset_index(drop=True)
    base = dataset.split(" at times")[0]
    km = _fit(base, stratum)
    if "at times" in dataset:  # summary(fit, times=...): n_event counts since previous time
        got = km.at(ref["time"].tolist())
    elif base.startswith("ovarian"):  # censor=TRUE: censoring times listed too
        got = km.curve.rename(columns={}).reset_index(drop=True)
    else:
        got = km.table
    assert got["time"].tolist() == ref["time"].astype(float).tolist()
    assert got["n_risk"].tolist() == ref["n_risk"].tolist()
    assert got["n_event"].tolist() == ref["n_event"].tolist()
    # Printed to 3-4 significant digits: half a unit in the last printed place.
    np.testing.assert_allclose(got["survival"].astype(float), ref["survival"], atol=6e-4)
    np.testing.assert_allclose(got["std_err"].astype(float), ref["std_err"], atol=6e-4)
    np.testing.assert_allclose(got["ci_low"].astype(float), ref["lower95"], atol=6e-4)
    np.testing.assert_allclose(got["ci_high"].astype(float), ref["upper95"], atol=6e-4)


def _none_or(value: float) -> float | None:
    return None if pd.isna(value) else float(value)


@pytest.mark.parametrize(("dataset", "stratum"), _cases("generated_km_medians_R.csv"))
def test_median_and_ci_match_r(dataset: str, stratum: str) -> None:
    ref = pd.read_csv(DATA / "generated_km_medians_R.csv")
    row = ref[(ref.dataset == dataset) & (ref.stratum == stratum)].iloc[0]
    d = _dataset(dataset)
    if dataset == "lung ~ ph.ecog":
        d = d.dropna(subset=["ph.ecog"])  # R drops the one row with missing ph.ecog
    km = _fit(dataset, stratum) if dataset != "lung ~ ph.ecog" else None
    if km is None:
        value = stratum.split("=")[1]
        sub = d[d["ph.ecog"].astype(int).astype(str) == value]
        km = kaplan_meier(sub.time, sub.event)
    assert km.n == row.n
    assert km.events == row.events
    assert km.median == _none_or(row["median"])
    assert km.median_ci_low == _none_or(row.lower95)
    assert km.median_ci_high == _none_or(row.upper95)


def test_median_midpoint_rule_on_a_flat_at_one_half() -> None:
    # S drops to exactly 0.5 at t=2 (2 of 4 die) and stays there until t=5:
    # R quantile.survfit takes the midpoint of the flat, (2 + 5) / 2 = 3.5.
    km = kaplan_meier([1, 2, 5, 6], [1, 1, 1, 0])
    assert km.median == 3.5


@pytest.mark.parametrize(("dataset", "stratum"), _cases("generated_km_fixed_times_R.csv"))
def test_fixed_time_survival_matches_r(dataset: str, stratum: str) -> None:
    ref = pd.read_csv(DATA / "generated_km_fixed_times_R.csv")
    ref = ref[(ref.dataset == dataset) & (ref.stratum == stratum)].reset_index(drop=True)
    got = _fit(dataset, stratum).at(ref["time"].tolist())
    assert got["n_risk"].tolist() == ref["n_risk"].tolist()
    np.testing.assert_allclose(got["survival"].astype(float), ref["survival"], rtol=1e-9)
    np.testing.assert_allclose(got["ci_low"].astype(float), ref["lower95_log"], rtol=1e-8)
    np.testing.assert_allclose(got["ci_high"].astype(float), ref["upper95_log"], rtol=1e-8)


@pytest.mark.parametrize("dataset", ["aml ~ x", "ovarian ~ rx", "lung ~ sex", "lung ~ ph.ecog"])
def test_logrank_matches_r_survdiff(dataset: str) -> None:
    ref = pd.read_csv(DATA / "generated_logrank_R.csv")
    ref = ref[ref.dataset == dataset].reset_index(drop=True)
    var = dataset.split(" ~ ")[1]
    d = _dataset(dataset).dropna(subset=[var])
    groups = d[var].map(lambda v: f"{var}={int(v) if isinstance(v, float) else v}")
    res = logrank(d.time, d.event, groups)
    assert res.chisq == pytest.approx(ref.chisq[0], rel=1e-8)
    assert res.df == ref.df[0]
    assert res.p_value == pytest.approx(ref.p_value[0], rel=1e-7)
    assert list(res.groups) == ref.group.tolist()
    assert list(res.n) == ref.N.tolist()
    assert list(res.observed) == ref.observed.tolist()
    np.testing.assert_allclose(res.expected, ref.expected, rtol=1e-8)


def test_logrank_published_printout() -> None:
    pub = json.loads((DATA / "published_summary_Rout_save.json").read_text())["aml ~ x"]
    d = _dataset("aml ~ x")
    res = logrank(d.time, d.event, d.x)
    assert round(res.chisq or math.nan, 1) == pub["survdiff"]["chisq_printed"]
    assert round(res.p_value or math.nan, 2) == pub["survdiff"]["p_printed"]


def test_logrank_with_one_group_gives_a_note_not_a_crash() -> None:
    res = logrank([1, 2, 3], [1, 0, 1], ["a", "a", "a"])
    assert res.p_value is None
    assert res.note is not None and "fewer than two groups" in res.note
    assert json.dumps(res.to_json_dict(), allow_nan=False)


def test_empty_km_is_json_safe() -> None:
    km = kaplan_meier([], [])
    doc = km.to_json_dict()
    assert doc["n"] == 0 and doc["median"] is None and doc["table"] == []
    json.dumps(doc, allow_nan=False)


def test_curve_to_zero_has_null_ci_in_json() -> None:
    km = kaplan_meier([1, 2], [1, 1])  # S = 0 at t = 2: R gives NA for the CI
    last = km.to_json_dict()["table"][-1]
    assert last["survival"] == 0.0 and last["ci_low"] is None and last["ci_high"] is None
    json.dumps(km.to_json_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("durations", "events", "match"),
    [
        ([1.0, -2.0], [1, 0], "negative"),
        ([1.0, math.nan], [1, 0], "missing"),
        ([1.0, 2.0], [1, 2], "events"),
    ],
)
def test_bad_survival_input_is_refused_with_a_reason(
    durations: list[float], events: list[int], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        kaplan_meier(durations, events)


_times = st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), times=_times)
def test_km_properties(data: st.DataObject, times: list[int]) -> None:
    events = data.draw(st.lists(st.booleans(), min_size=len(times), max_size=len(times)))
    km = kaplan_meier(times, events)
    s = km.curve["survival"].to_numpy()
    assert np.all((s >= 0) & (s <= 1))
    assert np.all(np.diff(s) <= 1e-12)  # non-increasing
    ok = km.table.dropna(subset=["ci_low"])
    assert np.all(ok["ci_low"] <= ok["survival"] + 1e-12)
    assert np.all(ok["survival"] <= ok["ci_high"] + 1e-12)
    assert np.all(ok["ci_high"] <= 1.0)
    json.dumps(km.to_json_dict(), allow_nan=False)


def test_aalen_johansen_agrees_with_lifelines_on_untied_data() -> None:
    # Untied times, so lifelines does not jitter: its CIF must equal ours.
    rng = np.random.default_rng(7)
    t = rng.permutation(np.arange(1, 61)).astype(float)
    codes = rng.integers(0, 3, size=60)
    ours = cumulative_incidence(t, codes, {1: "recurrence", 2: "death"})
    ajf = AalenJohansenFitter(calculate_variance=False).fit(t, codes, event_of_interest=1)
    theirs = ajf.cumulative_density_.iloc[:, 0]
    got = ours.at(theirs.index[theirs.index > 0].tolist())["recurrence"].to_numpy(dtype=float)
    np.testing.assert_allclose(got, theirs[theirs.index > 0].to_numpy(), atol=1e-12)


def test_aalen_johansen_by_hand() -> None:
    # 4 subjects: t=1 recurrence, t=2 death, t=3 censored, t=4 recurrence.
    # t=1: n=4, CIF_rec = 1·1/4 = 0.25, S = 3/4
    # t=2: n=3, CIF_death = 3/4·1/3 = 0.25, S = 3/4·2/3 = 1/2
    # t=4: n=1, CIF_rec = 0.25 + 1/2·1/1 = 0.75; total 0.75 + 0.25 = 1 (all events by t=4)
    ci = cumulative_incidence([1, 2, 3, 4], [1, 2, 0, 1], {1: "recurrence", 2: "death"})
    at = ci.at([1, 2, 4, 5])
    assert at["recurrence"].tolist()[:3] == pytest.approx([0.25, 0.25, 0.75])
    assert at["death"].tolist()[:3] == pytest.approx([0.0, 0.25, 0.25])
    assert pd.isna(at["recurrence"].tolist()[3])  # beyond follow-up: not estimable
    json.dumps(ci.to_json_dict(), allow_nan=False)
