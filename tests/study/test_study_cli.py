"""`renalpath study salvage|survival` and `audit concordance` end to end, through the real
console script: synth → db init → import → study, plus hand-built registries whose numbers
are worked out below.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from tests.conftest import run_cli

from .handbuilt import CONCORDANCE, SALVAGE, write

SALVAGE_KEYS = (
    "n_surgical_patients",
    "n_salvage",
    "salvage_rate_pct",
    "male_n",
    "male_pct",
    "age_mean",
    "age_sd",
    "age_min",
    "age_max",
    "primary_modality",
    "primary_open_surgery_n",
    "salvage_procedure",
    "approach",
    "dialysis_expected_preop_n",
    "renal_function",
    "warm_ischemia",
    "blood_loss",
    "pt_stage",
    "margins",
    "complications",
    "followup_months",
    "recurrence_after_salvage_n",
    "deaths_n",
    "rfs",
    "methods",
    "results",
)
RENAL_KEYS = (
    "n",
    "equation",
    "creatinine_pre_mean",
    "creatinine_post_mean",
    "egfr_pre_mean",
    "egfr_post_mean",
    "egfr_change_mean",
    "paired_t_p",
    "wilcoxon_p",
    "ckd_upstaged_n",
)
ASSUME = (
    "--assume",
    "patient.fit_for_surgery=true",
    "--assume",
    "patient.frail=false",
    "--assume",
    "surgeon.pn_feasible=yes",
    "--assume",
    "tumour.central=false",
)


def _strict_json(text: str) -> Any:
    """json.loads that fails on NaN/Infinity (the issue forbids them in the contract)."""

    def refuse(token: str) -> None:
        raise AssertionError(f"non-finite number {token} in JSON output")

    return json.loads(text, parse_constant=refuse)


def _ok(*args: str) -> str:
    res = run_cli(*args)
    assert res.returncode == 0, f"{args}: rc={res.returncode}\n{res.stderr}"
    return res.stdout


def _registry(tmp: Path, folder: Path) -> str:
    url = f"sqlite:///{tmp / 'registry.db'}"
    _ok("db", "init", "--db", url)
    _ok("import", str(folder), "--db", url)
    return url


@pytest.fixture(scope="module")
def synth_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp = tmp_path_factory.mktemp("synth")
    _ok("synth", "--patients", "300", "--seed", "3", "--out", str(tmp / "csv"))
    return _registry(tmp, tmp / "csv")


# ----------------------------------------------------------------------- synthetic data


def test_salvage_json_contract_on_synthetic_registry(synth_db: str) -> None:
    doc = _strict_json(_ok("study", "salvage", "--json", "--db", synth_db))
    for key in SALVAGE_KEYS:
        assert key in doc, key
    for key in RENAL_KEYS:
        assert key in doc["renal_function"], key
    assert doc["n_surgical_patients"] > 0
    assert doc["salvage_rate_pct"] == pytest.approx(
        100 * doc["n_salvage"] / doc["n_surgical_patients"]
    )
    assert doc["renal_function"]["equation"] == "mdrd"
    assert {e["months"] for e in doc["rfs"]["estimates"]} == {12, 24, 36, 60}


def test_salvage_pdf_report_opens_and_has_km_section(synth_db: str, tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    html = tmp_path / "report.html"
    _ok("study", "salvage", "--db", synth_db, "--pdf", str(pdf), "--html", str(html))
    reader = PdfReader(str(pdf))
    assert len(reader.pages) >= 2
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    assert "Kaplan" in text or "Recurrence-free" in text
    assert "Salvage" in html.read_text(encoding="utf-8")


def test_survival_by_procedure_shape(synth_db: str) -> None:
    doc = _strict_json(
        _ok(
            "study",
            "survival",
            "--endpoint",
            "overall",
            "--by",
            "procedure",
            "--json",
            "--db",
            synth_db,
        )
    )
    assert doc["endpoint"] == "overall" and doc["by"] == "procedure"
    groups = {g["group"]: g for g in doc["groups"]}
    assert set(groups) <= {"partial_nephrectomy", "radical_nephrectomy"} and groups
    assert sum(g["n"] for g in groups.values()) == doc["n"]
    for g in groups.values():
        assert {"n", "events", "median", "table"} <= set(g)
        for row in g["table"]:
            assert set(row) >= {"time_days", "n_risk", "n_event", "survival", "ci_low", "ci_high"}
    assert doc["logrank_p"] is None or 0.0 <= doc["logrank_p"] <= 1.0


def test_window_restricts_the_denominator(synth_db: str) -> None:
    whole = _strict_json(_ok("study", "salvage", "--json", "--db", synth_db))
    part = _strict_json(
        _ok(
            "study",
            "salvage",
            "--json",
            "--from",
            "2015-01-01",
            "--to",
            "2018-12-31",
            "--db",
            synth_db,
        )
    )
    assert part["window"] == {"from": "2015-01-01", "to": "2018-12-31"}
    assert 0 < part["n_surgical_patients"] < whole["n_surgical_patients"]


def test_text_output_is_a_readable_summary(synth_db: str) -> None:
    out = _ok("study", "salvage", "--db", synth_db)
    assert "patients with a partial or radical nephrectomy" in out
    assert not out.lstrip().startswith("{")


@pytest.mark.parametrize(
    "args",
    [
        ("study", "salvage", "--from", "2020-13-01"),
        ("study", "salvage", "--from", "2020-01-01", "--to", "2019-01-01"),
        ("study", "salvage", "--equation", "cockcroft"),
        ("study", "survival", "--endpoint", "progression"),
        ("study", "survival", "--by", "shoe_size"),
    ],
)
def test_usage_errors_exit_2_with_a_clear_message(synth_db: str, args: tuple[str, ...]) -> None:
    res = run_cli(*args, "--db", synth_db)
    assert res.returncode == 2
    assert "allowed" in res.stderr or "after" in res.stderr
    assert res.stdout == ""


# ------------------------------------------------------------------ hand-built registry


def _mdrd(scr_mg_dl: float, age: float, female: bool) -> float:
    # MDRD-175 (IDMS; Levey 2006, MDRD, Levey 2006): 175 × Scr^-1.154 × age^-0.203 × 0.742 ♀
    return float(175.0 * scr_mg_dl**-1.154 * age**-0.203 * (0.742 if female else 1.0))


def _age(birth: str, on: str) -> float:
    # age on the day of the blood test, in years of 365.25 days (renal_function docstring)
    return (dt.date.fromisoformat(on) - dt.date.fromisoformat(birth)).days / 365.25


def test_salvage_numbers_on_hand_built_registry(tmp_path: Path) -> None:
    url = _registry(tmp_path, write(tmp_path / "csv", SALVAGE))
    doc = _strict_json(_ok("study", "salvage", "--json", "--db", url))
    # Denominator: P1 (I2), P2 (I4), P3 (I5), P4 (I6, I7) have a PN/RN → 4 patients.
    assert doc["n_surgical_patients"] == 4
    # Salvage: P1 (derived: cryo → recurrence → PN, same tumour), P2 (explicit intent);
    # P4's RN is on a new contralateral tumour → not salvage. 2 / 4 = 50 %.
    assert doc["n_salvage"] == 2
    assert doc["salvage_rate_pct"] == pytest.approx(50.0)
    assert doc["male_n"] == 1  # P1
    assert doc["primary_modality"] == {"cryoablation": 1, "radiofrequency_ablation": 1}
    assert doc["salvage_procedure"] == {"partial_nephrectomy": 1, "radical_nephrectomy": 1}
    # Blood loss P1 300, P2 500 → mean 400.
    assert doc["blood_loss"]["mean"] == pytest.approx(400.0)
    rf = doc["renal_function"]
    assert rf["n"] == 2
    # pre: P1 1.2 (2016-05-20), P2 1.0 (2017-01-10) → mean 1.1
    # post: P1 1.5 (day 92 beats day 44), P2 1.4 (day 95) → mean 1.45
    assert rf["creatinine_pre_mean"] == pytest.approx(1.1)
    assert rf["creatinine_post_mean"] == pytest.approx(1.45)
    pre = [
        _mdrd(1.2, _age("1950-06-15", "2016-05-20"), female=False),
        _mdrd(1.0, _age("1960-01-01", "2017-01-10"), female=True),
    ]
    post = [
        _mdrd(1.5, _age("1950-06-15", "2016-09-01"), female=False),
        _mdrd(1.4, _age("1960-01-01", "2017-04-20"), female=True),
    ]
    assert rf["egfr_pre_mean"] == pytest.approx(sum(pre) / 2, rel=1e-9)
    assert rf["egfr_post_mean"] == pytest.approx(sum(post) / 2, rel=1e-9)
    assert rf["egfr_change_mean"] == pytest.approx((sum(post) - sum(pre)) / 2, rel=1e-9)


def test_empty_registry_gives_nulls_and_a_clear_message(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    _ok("db", "init", "--db", url)
    doc = _strict_json(_ok("study", "salvage", "--json", "--db", url))
    assert doc["n_surgical_patients"] == 0 and doc["n_salvage"] == 0
    assert doc["salvage_rate_pct"] is None and doc["renal_function"]["egfr_pre_mean"] is None
    assert any("no partial or radical nephrectomy" in n for n in doc["notes"])
    text = _ok("study", "salvage", "--db", url)
    assert "no partial or radical nephrectomy dated in the window" in text
    surv = _strict_json(_ok("study", "survival", "--json", "--db", url))
    assert surv["n"] == 0 and surv["groups"] == []


def test_database_without_schema_is_refused(tmp_path: Path) -> None:
    res = run_cli("study", "salvage", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert res.returncode == 1
    assert "db upgrade" in res.stderr


# ----------------------------------------------------------------------- concordance


def _treatments(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["intervention_id"]: t for t in doc["treatments"]}


def test_concordance_with_stated_fitness(tmp_path: Path) -> None:
    url = _registry(tmp_path, write(tmp_path / "csv", CONCORDANCE))
    doc = _strict_json(_ok("audit", "concordance", "--json", "--db", url, *ASSUME))
    t = _treatments(doc)
    # cT1a, 30 mm, fit, PN feasible: EAU/Oncolex recommend PN and advise against RN.
    assert t["J1"]["category"] == "recommended" and t["J1"]["option"] == "partial_nephrectomy"
    assert t["J2"]["category"] == "not_recommended"
    assert t["J2"]["option"] == "radical_nephrectomy"
    # Q3 has no creatinine at all: ablation cannot be judged, and the audit says why.
    assert t["J3"]["category"] == "not_evaluable"
    assert t["J3"]["option"] == "thermal_ablation"
    assert "kidney.creatinine" in t["J3"]["missing"]
    assert doc["assumptions"]["patient.fit_for_surgery"] is True
    # Quality indicator: cT1a first treated by nephrectomy = J1 PN, J2 RN, J4 PN (J3 is an
    # ablation, J5 is cT1b) → PN / (PN + RN) = 2 / 3.
    assert doc["pn_rate_ct1a"] == {"pn_n": 2, "rn_n": 1, "rate_pct": pytest.approx(200 / 3)}
    # 2020: J1 recommended, J2 not recommended, J3 not evaluable.
    c2020 = doc["by_year"]["2020"]["counts"]
    assert (c2020["recommended"], c2020["not_recommended"], c2020["not_evaluable"]) == (1, 1, 1)
    assert doc["by_ct"]["T1b"]["n"] == 1


def test_concordance_without_fitness_lists_missing_inputs(tmp_path: Path) -> None:
    url = _registry(tmp_path, write(tmp_path / "csv", CONCORDANCE))
    doc = _strict_json(_ok("audit", "concordance", "--json", "--db", url))
    t = _treatments(doc)
    # The registry holds no fitness judgement: never guessed, reported as missing.
    assert t["J1"]["category"] == "not_evaluable"
    assert "patient.fit_for_surgery" in t["J1"]["missing"]
    assert doc["overall"]["counts"]["not_evaluable"] == 5
    assert doc["missing_inputs"]["patient.fit_for_surgery"] >= 2
    text = _ok("audit", "concordance", "--db", url)
    assert "partial-nephrectomy rate in cT1a: 66.7 %" in text


def test_concordance_on_synthetic_registry_is_strict_json(synth_db: str) -> None:
    doc = _strict_json(_ok("audit", "concordance", "--json", "--db", synth_db))
    overall = doc["overall"]
    assert overall["n"] == doc["n_treatments"] == len(doc["treatments"]) > 0
    assert sum(overall["counts"].values()) == overall["n"]
    assert math.isfinite(sum(v or 0.0 for v in overall["pct"].values()))


# ------------------------------------------------------------------ Python API (source)


@pytest.mark.parametrize("window", [(None, None), ("2012-01-01", "2020-12-31")])
def test_sql_filtered_frames_give_the_same_studies_as_the_whole_registry(
    synth_db: str, window: tuple[str | None, str | None]
) -> None:
    """The per-study loaders read a fraction of the rows; the numbers must not change."""
    from renalpath.outcomes import (
        RegistryFrames,
        salvage_frames,
        salvage_study,
        survival_frames,
        survival_study,
    )
    from renalpath.registry.db import make_engine
    from renalpath.registry.frames import COLUMNS, read_registry

    whole = read_registry(make_engine(synth_db))
    reference = RegistryFrames.build(
        {n: getattr(whole, n)[[c for c in COLUMNS[n] if c in getattr(whole, n)]] for n in COLUMNS}
    )
    lo, hi = window
    a = salvage_study(reference, lo, hi).to_json_dict()
    b = salvage_study(salvage_frames(synth_db, lo, hi), lo, hi).to_json_dict()
    assert a == b and a["n_surgical_patients"] > 0
    for endpoint in ("overall", "recurrence-free", "cancer-specific"):
        ref = survival_study(reference, endpoint, "procedure", lo, hi).to_json_dict()
        got = survival_study(survival_frames(synth_db, lo, hi), endpoint, "procedure", lo, hi)
        assert ref == got.to_json_dict() and ref["n"] > 0


def test_load_frames_window_keeps_whole_histories(synth_db: str) -> None:
    from renalpath.outcomes import load_frames

    everything = load_frames(synth_db)
    part = load_frames(synth_db, "2015-01-01", "2016-12-31")
    iv = everything.interventions
    in_window = iv[(iv["date"] >= "2015-01-01") & (iv["date"] <= "2016-12-31")]
    assert set(part.patients["patient_id"]) == set(in_window["patient_id"])
    # a kept patient's interventions outside the window are still there
    keep = set(part.patients["patient_id"])
    assert len(part.interventions) == int(iv["patient_id"].isin(keep).sum())
    assert len(part.labs) == int(everything.labs["patient_id"].isin(keep).sum())


def _reference_frames(url: str) -> Any:
    """The whole registry as frames (registry layer), trimmed to the outcomes columns."""
    from renalpath.outcomes import RegistryFrames
    from renalpath.registry.db import make_engine
    from renalpath.registry.frames import COLUMNS, read_registry

    whole = read_registry(make_engine(url))
    return RegistryFrames.build(
        {n: getattr(whole, n)[[c for c in COLUMNS[n] if c in getattr(whole, n)]] for n in COLUMNS}
    )


def test_survival_loader_gives_the_full_frame_answer_for_every_by_field(synth_db: str) -> None:
    """`survival_frames` loads only the columns survival reads: every --by field must still
    give the whole-registry JSON (a column left out would blank a grouping)."""
    from renalpath.outcomes import survival_frames, survival_study
    from renalpath.outcomes.study_options import BY_FIELDS

    reference = _reference_frames(synth_db)
    slim = survival_frames(synth_db, "2010-01-01", None)
    for by in sorted(BY_FIELDS):
        ref = survival_study(reference, "overall", by, "2010-01-01").to_json_dict()
        got = survival_study(slim, "overall", by, "2010-01-01").to_json_dict()
        assert got == ref, by
        assert sum(g["n"] for g in got["groups"]) == got["n"] > 0


SAME_DAY: dict[str, str] = {
    # S1 has two nephrectomies on one day (ids Z9 RN and A1 PN): the first per patient is the
    # lower intervention id, A1, a partial nephrectomy; S2 has one PN a year later, then dies.
    "patients.csv": """
S1,male,1950-01-01,false,none,none,,,2020-01-01
S2,female,1960-01-01,false,none,none,2019-06-30,other,2019-06-30
""",
    "tumours.csv": """tumour_id,patient_id,side,diagnosis_date,histology,ct,cn,cm
T1,S1,left,2015-01-01,clear_cell,T1a,N0,M0
T2,S2,right,2016-01-01,clear_cell,T1a,N0,M0
""",
    "interventions.csv": """
Z9,S1,T1,2015-03-01,radical_nephrectomy,left,open,primary,,,,,,,none,false,
A1,S1,T1,2015-03-01,partial_nephrectomy,left,open,primary,,,,,,,none,false,
B1,S2,T2,2016-03-01,partial_nephrectomy,right,robotic,primary,,,,,,,none,false,
""",
}


def test_same_day_nephrectomies_resolve_alike_in_sql_and_in_frames(tmp_path: Path) -> None:
    from renalpath.outcomes import survival_frames, survival_study

    url = _registry(tmp_path, write(tmp_path / "csv", SAME_DAY))
    slim = survival_study(survival_frames(url), "overall", "procedure")
    ref = survival_study(_reference_frames(url), "overall", "procedure")
    assert slim.to_json_dict() == ref.to_json_dict()
    # Both index operations are partial nephrectomies (A1 beats Z9), so one group of 2; S2
    # died 2019-06-30, 1216 days after 2016-03-01 (3 × 365 to 2019-03-01, + 121).
    assert [g["group"] for g in slim.to_json_dict()["groups"]] == ["partial_nephrectomy"]
    assert sorted(slim.data["intervention_id"]) == ["A1", "B1"]
    s2 = slim.data.set_index("patient_id").loc["S2"]
    assert (s2["time_days"], bool(s2["event"])) == (1216.0, True)
