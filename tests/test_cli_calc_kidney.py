"""`renalpath calc egfr|renal|padua|tnm|growth` through the real console script."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_cli

EGFR_ACCEPTANCE = (
    "calc",
    "egfr",
    "--creatinine",
    "1.35",
    "--unit",
    "mg/dL",
    "--age",
    "64",
    "--sex",
    "male",
)


def test_egfr_mdrd_acceptance_json() -> None:
    proc = run_cli(*EGFR_ACCEPTANCE, "--equation", "mdrd", "--json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)  # stdout is only JSON
    for key in ("equation", "egfr", "egfr_rounded", "ckd_stage", "creatinine_mg_dl"):
        assert key in payload
    assert payload["equation"] == "mdrd"
    assert abs(payload["egfr"] - 53.21) <= 0.01
    assert payload["egfr_rounded"] == 53
    assert payload["ckd_stage"] == "G3a"
    assert payload["creatinine_mg_dl"] == 1.35


def test_egfr_default_equation_text_output() -> None:
    proc = run_cli(*EGFR_ACCEPTANCE)
    assert proc.returncode == 0, proc.stderr
    assert "CKD-EPI 2021" in proc.stdout
    assert "58.63" in proc.stdout  # CKD-EPI 2021, Inker 2021 ex. 2
    assert "G3a" in proc.stdout


def test_egfr_umol_input_and_black_2009() -> None:
    proc = run_cli(
        "calc",
        "egfr",
        "--creatinine",
        "79.56",
        "--unit",
        "umol/L",
        "--age",
        "55",
        "--sex",
        "female",
        "--equation",
        "ckd-epi-2009",
        "--black",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    # 79.56 µmol/L ÷ 88.4 = 0.90 mg/dL → B3 ex. 2 with Black coefficient: 83.43.
    assert abs(payload["egfr"] - 83.43) <= 0.005
    assert payload["black"] is True


def test_egfr_120_mg_dl_refused_with_unit_hint() -> None:
    proc = run_cli(
        "calc", "egfr", "--creatinine", "120", "--unit", "mg/dL", "--age", "64", "--sex", "male"
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "creatinine" in proc.stderr
    assert "120" in proc.stderr
    assert "0.1–25 mg/dL" in proc.stderr
    assert "did you mean µmol/L?" in proc.stderr


def test_egfr_age_16_refused() -> None:
    proc = run_cli(
        "calc",
        "egfr",
        "--creatinine",
        "1.0",
        "--unit",
        "mg/dL",
        "--age",
        "16",
        "--sex",
        "male",
        "--json",
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "age" in proc.stderr and "16" in proc.stderr
    assert "adult equations need age ≥ 18" in proc.stderr


def test_egfr_missing_inputs_named() -> None:
    proc = run_cli("calc", "egfr", "--creatinine", "1.0")
    assert proc.returncode == 1
    # Named as the user typed them (`--unit`), as the web names its form field.
    for field in ("unit:", "age:", "sex:"):
        assert f"refused: {field}" in proc.stderr


def test_egfr_unknown_equation_refused() -> None:
    proc = run_cli(*EGFR_ACCEPTANCE, "--equation", "cockcroft")
    assert proc.returncode == 1
    assert "equation" in proc.stderr and "ckd-epi-2021" in proc.stderr


def test_usage_error_exit_2() -> None:
    proc = run_cli("calc", "egfr", "--creatinine", "abc")
    assert proc.returncode == 2


@pytest.mark.parametrize(
    ("equation", "formula_text", "source_text"),
    [
        ("mdrd", "175 × Scr^−1.154", "kidney.org/content/mdrd-study-equation"),
        ("ckd-epi-2009", "141 × min(Scr/κ, 1)^α", "ckd-epi-creatinine-equation-2009"),
        ("ckd-epi-2021", "142 × min(Scr/κ, 1)^α", "Inker"),
    ],
)
def test_egfr_explain(equation: str, formula_text: str, source_text: str) -> None:
    proc = run_cli("calc", "egfr", "--explain", "--equation", equation)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Formula:" in out and formula_text in out
    assert "Sources:" in out and source_text in out
    assert "0.1–25 mg/dL" in out and "18–120" in out
    assert "G3a" in out  # KDIGO bands


@pytest.mark.parametrize("command", ["egfr", "renal", "padua", "tnm", "growth"])
def test_help_names_units_and_ranges(command: str) -> None:
    proc = run_cli("calc", command, "--help", env={"COLUMNS": "200"})
    assert proc.returncode == 0
    out = proc.stdout
    assert "--json" in out and "--explain" in out
    assert "mm" in out or "mg/dL" in out
    assert "–" in out  # a range such as 1–400


@pytest.mark.parametrize(
    ("command", "formula_text", "source_text"),
    [
        ("renal", "Total = R + E + N + L", "Kutikov"),
        ("padua", "Total 6–14", "Ficarra"),
        ("tnm", "T1a ≤ 40 mm", "AJCC"),
        ("growth", "365.25", "AUA 2017"),
    ],
)
def test_explain_other_commands(command: str, formula_text: str, source_text: str) -> None:
    proc = run_cli("calc", command, "--explain")
    assert proc.returncode == 0, proc.stderr
    assert "Formula:" in proc.stdout and formula_text in proc.stdout
    assert "Sources:" in proc.stdout and source_text in proc.stdout


def test_renal_json_b6_example_3() -> None:
    proc = run_cli(
        "calc",
        "renal",
        "--size-mm",
        "60",
        "--exophytic-pct",
        "0",
        "--nearness-mm",
        "2",
        "--ap",
        "p",
        "--polar",
        "central",
        "--hilar",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert (payload["total"], payload["label"], payload["complexity"]) == (11, "11ph", "high")


def test_renal_bad_ap_refused() -> None:
    proc = run_cli(
        "calc",
        "renal",
        "--size-mm",
        "60",
        "--exophytic-pct",
        "0",
        "--nearness-mm",
        "2",
        "--ap",
        "q",
        "--polar",
        "central",
    )
    assert proc.returncode == 1
    assert "ap" in proc.stderr and "'q'" in proc.stderr


def test_padua_text_b7_example_2() -> None:
    proc = run_cli(
        "calc",
        "padua",
        "--size-mm",
        "35",
        "--exophytic-pct",
        "60",
        "--polar",
        "middle",
        "--rim",
        "lateral",
        "--sinus",
        "--face",
        "a",
    )
    assert proc.returncode == 0, proc.stderr
    assert "8a" in proc.stdout and "intermediate" in proc.stdout


def test_tnm_json_b8_example_2() -> None:
    proc = run_cli("calc", "tnm", "--size-mm", "85", "--n", "N1", "--m", "M0", "--json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert (payload["t"], payload["n"], payload["m"], payload["stage_group"]) == (
        "T2a",
        "N1",
        "M0",
        "III",
    )


def test_tnm_extension_flag() -> None:
    proc = run_cli("calc", "tnm", "--size-mm", "50", "--renal-vein", "--n", "cN0", "--m", "cM0")
    assert proc.returncode == 0, proc.stderr
    assert "T3a" in proc.stdout and "stage III" in proc.stdout


def test_tnm_oversize_refused() -> None:
    proc = run_cli("calc", "tnm", "--size-mm", "450", "--n", "N0", "--m", "M0")
    assert proc.returncode == 1
    assert "size_mm" in proc.stderr and "1–400 mm" in proc.stderr


def test_growth_b15() -> None:
    proc = run_cli(
        "calc",
        "growth",
        "--size1-mm",
        "18",
        "--size2-mm",
        "24",
        "--interval-days",
        "304.375",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert abs(payload["mm_per_year"] - 7.2) <= 1e-9
    assert payload["fast_growth"] is True


def test_growth_short_interval_refused() -> None:
    proc = run_cli(
        "calc", "growth", "--size1-mm", "18", "--size2-mm", "24", "--interval-days", "30"
    )
    assert proc.returncode == 1
    assert "interval_days" in proc.stderr and "180" in proc.stderr
