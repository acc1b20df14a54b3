"""`renalpath calc leibovich|ssign|imdc|mskcc|clavien|mirels|calcium` via the console script."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import run_cli


def ok_json(*args: str) -> dict[str, Any]:
    proc = run_cli("calc", *args, "--json")
    assert proc.returncode == 0, proc.stderr
    payload: dict[str, Any] = json.loads(proc.stdout)  # nothing but JSON on stdout
    return payload


def test_leibovich_json_example_2() -> None:
    out = ok_json(
        "leibovich", "--pt", "pT1b", "--pn", "pNX", "--size-mm", "60", "--grade", "3", "--necrosis"
    )
    assert (out["score"], out["group"]) == (4, "intermediate")
    assert "needs_verification" in out["flags"]
    assert {"calculator_id", "version", "band", "sources", "components"} <= set(out)


def test_leibovich_text_output() -> None:
    proc = run_cli(
        "calc",
        "leibovich",
        "--pt",
        "pT3a",
        "--pn",
        "pN1",
        "--size-mm",
        "110",
        "--grade",
        "4",
        "--necrosis",
    )
    assert proc.returncode == 0
    assert "11 (high)" in proc.stdout


def test_leibovich_missing_necrosis_refused_by_name() -> None:
    proc = run_cli(
        "calc", "leibovich", "--pt", "pT1a", "--pn", "pN0", "--size-mm", "30", "--grade", "2"
    )
    assert proc.returncode == 1
    assert "necrosis" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--grade", "5"], "grade: 5"),
        (["--pt", "pT5"], "pT5"),
    ],
)
def test_leibovich_bad_values_refused(args: list[str], needle: str) -> None:
    base = {"--pt": "pT1a", "--pn": "pN0", "--size-mm": "30", "--grade": "2"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [x for kv in base.items() for x in kv]
    proc = run_cli("calc", "leibovich", *flat, "--no-necrosis")
    assert proc.returncode == 1
    assert needle in proc.stderr
    assert "allowed" in proc.stderr


def test_leibovich_explain_has_caveats() -> None:
    proc = run_cli("calc", "leibovich", "--explain")
    assert proc.returncode == 0
    for needle in ("[R]", "needs_verification", "WHO/ISUP", "Fuhrman", "0-2", ">= 6", "mm"):
        assert needle in proc.stdout


def test_ssign_t4_flag_and_explain() -> None:
    out = ok_json(
        "ssign",
        "--pt",
        "pT4",
        "--pn",
        "pN0",
        "--m",
        "M0",
        "--size-mm",
        "50",
        "--grade",
        "2",
        "--no-necrosis",
    )
    assert out["score"] == 6
    assert "tnm_version_mismatch" in out["flags"]
    proc = run_cli("calc", "ssign", "--explain")
    assert "TNM 1997" in proc.stdout and "tnm_version_mismatch" in proc.stdout


def test_ssign_papillary_not_applicable() -> None:
    out = ok_json("ssign", "--histology", "papillary")
    assert out["group"] == "not_applicable" and out["score"] is None


def test_imdc_example_2() -> None:
    out = ok_json(
        "imdc",
        "--kps",
        "80",
        "--days",
        "60",
        "--hb-low",
        "--calcium-normal",
        "--neutrophils-normal",
        "--platelets-normal",
    )
    assert (out["score"], out["group"]) == (2, "intermediate")


def test_imdc_ecog_1_both_readings() -> None:
    out = ok_json(
        "imdc",
        "--ecog",
        "1",
        "--days",
        "30",
        "--hb-low",
        "--calcium-normal",
        "--neutrophils-normal",
        "--platelets-normal",
    )
    assert out["group"] == "intermediate" and out["group_alt"] == "poor"
    assert "kps_indeterminate" in out["flags"]


def test_imdc_provisional() -> None:
    out = ok_json(
        "imdc",
        "--kps",
        "90",
        "--no-systemic-planned",
        "--hb-normal",
        "--calcium-normal",
        "--neutrophils-normal",
        "--platelets-normal",
    )
    assert out["score"] == 1 and "imdc_provisional" in out["flags"]


def test_imdc_calcium_from_values() -> None:
    out = ok_json(
        "imdc",
        "--kps",
        "90",
        "--days",
        "400",
        "--hb-normal",
        "--calcium",
        "10.3",
        "--albumin",
        "2.9",
        "--calcium-uln",
        "10.5",
        "--neutrophils-normal",
        "--platelets-normal",
    )
    assert out["components"]["hypercalcaemia"] == 1
    assert out["calcium"]["corrected"] == pytest.approx(11.18)


def test_imdc_refusals_on_stderr() -> None:
    proc = run_cli("calc", "imdc", "--kps", "85", "--days", "-3")
    assert proc.returncode == 1
    assert "kps: 85" in proc.stderr
    assert "dx_to_systemic_days" in proc.stderr
    for field in ("hb_below_lln", "neutrophils_above_uln", "platelets_above_uln"):
        assert field in proc.stderr


def test_imdc_ecog_7_refused() -> None:
    proc = run_cli("calc", "imdc", "--ecog", "7")
    assert proc.returncode == 1
    assert "ecog: 7" in proc.stderr and "0–4" in proc.stderr


def test_mskcc_example_3_with_calcium_values() -> None:
    out = ok_json(
        "mskcc",
        "--kps",
        "80",
        "--ldh-normal",
        "--hb-low",
        "--calcium",
        "9.8",
        "--albumin",
        "3.0",
        "--days",
        "1825",
    )
    assert (out["score"], out["group"]) == (2, "intermediate")
    assert out["calculator_id"] == "mskcc-2002"


def test_mskcc_flag_contradicting_values_refused() -> None:
    proc = run_cli(
        "calc",
        "mskcc",
        "--kps",
        "80",
        "--ldh-normal",
        "--hb-low",
        "--calcium-normal",
        "--calcium",
        "9.8",
        "--albumin",
        "3.0",
        "--days",
        "1825",
    )
    assert proc.returncode == 1
    assert "calcium_corrected_above_10_mg_dl" in proc.stderr


def test_mskcc_explain_labels_2002() -> None:
    proc = run_cli("calc", "mskcc", "--explain")
    assert "2002" in proc.stdout and "1999" in proc.stdout


def test_calcium_albumin_unit_hint() -> None:
    proc = run_cli("calc", "calcium", "--calcium", "9.8", "--albumin", "40")
    assert proc.returncode == 1
    assert "did you mean g/L?" in proc.stderr


def test_calcium_json() -> None:
    out = ok_json("calcium", "--calcium", "9.2", "--albumin", "3.0")
    assert out["corrected"] == 10.0 and out["above_10_mg_dl"] is False


@pytest.mark.parametrize(
    ("args", "label", "major"),
    [
        (["--required", "transfusion"], "II", False),
        (["--required", "intervention_local"], "IIIa", True),
        (["--required", "dialysis_unexpected", "--disability"], "IVa-d", True),
        (["--grade", "ivb-d"], "IVb-d", True),
    ],
)
def test_clavien(args: list[str], label: str, major: bool) -> None:
    out = ok_json("clavien", *args)
    assert out["label"] == label and out["is_major"] is major


def test_clavien_grade_disagreeing_with_required_refused() -> None:
    proc = run_cli("calc", "clavien", "--required", "transfusion", "--grade", "IIIa")
    assert proc.returncode == 1
    assert "grade" in proc.stderr and "II for required=transfusion" in proc.stderr


def test_clavien_help_documents_enumeration() -> None:
    proc = run_cli("calc", "clavien", "--help")
    assert proc.returncode == 0
    for value in ("intervention_general_anaesthesia", "icu_multi_organ", "death"):
        assert value in proc.stdout


def test_mirels_json_and_bad_site() -> None:
    out = ok_json(
        "mirels",
        "--site",
        "lower_limb",
        "--pain",
        "moderate",
        "--lesion",
        "lytic",
        "--cortical-fraction",
        "lt_1_3",
    )
    assert (out["score"], out["group"]) == (8, "clinical_judgement")
    proc = run_cli(
        "calc",
        "mirels",
        "--site",
        "spine",
        "--pain",
        "mild",
        "--lesion",
        "lytic",
        "--cortical-fraction",
        "lt_1_3",
    )
    assert proc.returncode == 1 and "site: 'spine'" in proc.stderr


def test_usage_error_exit_2() -> None:
    proc = run_cli("calc", "leibovich", "--grade", "three")
    assert proc.returncode == 2


@pytest.mark.parametrize("name", ["leibovich", "ssign", "imdc", "mskcc", "mirels", "calcium"])
def test_help_names_units_and_ranges(name: str) -> None:
    proc = run_cli("calc", name, "--help", env={"COLUMNS": "200"})
    assert proc.returncode == 0
    text = " ".join(proc.stdout.replace("│", " ").split())  # drop rich's box borders
    # The catalogue writes ranges with an en dash and ≥ (as the web shows them).
    text = text.replace("–", "-").replace("≥", ">=")
    expected = {
        "leibovich": ("mm", "1-400", "1-4"),
        "ssign": ("mm", "M0", "1-4"),
        "imdc": ("0-100", "steps of 10", "ECOG 0-4", ">= 0"),
        "mskcc": ("0-100", "1.5", "10 mg/dL"),
        "mirels": ("peritrochanteric", "gt_2_3"),
        "calcium": ("g/dL", "mmol/L", "4-20"),
    }[name]
    for needle in expected:
        assert needle in text, needle
