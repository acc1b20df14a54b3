"""`renalpath recommend` and `renalpath schema case` through the installed console script."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

CASES = Path(__file__).parent / "cases"
V10 = str(CASES / "v10_m1_good_ps_no_systemic.json")


def test_recommend_json_has_design_keys() -> None:
    proc = run_cli("recommend", V10, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {
        "derived",
        "options",
        "missing_inputs",
        "flags",
        "conflicts",
        "followup",
        "packs",
    } <= set(data)
    first = data["options"][0]
    assert {
        "option",
        "modality",
        "status",
        "strength",
        "rule_ids",
        "pack",
        "why",
        "flags",
        "verification",
        "sources",
    } <= set(first)
    assert [p["id"] for p in data["packs"]] == ["oncolex", "eau", "salvage"]


def test_recommend_text_summary() -> None:
    proc = run_cli("recommend", V10)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "RECOMMENDED" in out and "cytoreductive nephrectomy" in out
    assert "IMDC 1 (intermediate)" in out
    assert "mdt_required" in out and "C1" in out and "Sources:" in out


def test_recommend_single_pack() -> None:
    proc = run_cli("recommend", V10, "--pack", "oncolex", "--json")
    data = json.loads(proc.stdout)
    assert data["packs"] == [{"id": "oncolex", "version": "2018"}]
    assert {o["pack"] for o in data["options"]} == {"oncolex"}


def test_invalid_case_refused_with_every_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "patient": {"ecog": 7},
                "tumour": {"size_mm": 0, "cm": "M1"},
                "metastases": [],  # M1 with "none listed": a contradiction
                "extra": 1,
            }
        )
    )
    proc = run_cli("recommend", str(bad), "--json")
    assert proc.returncode == 1
    assert proc.stdout == ""
    for path in ("patient.ecog", "tumour.size_mm", "tumour.cm", "extra"):
        assert path in proc.stderr


def test_not_json_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert run_cli("recommend", str(bad)).returncode == 1


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run_cli("recommend", str(tmp_path / "missing.json")).returncode == 2
    assert run_cli("recommend", V10, "--pack", "nccn").returncode == 2


def test_schema_case() -> None:
    proc = run_cli("schema", "case")
    assert proc.returncode == 0
    schema = json.loads(proc.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "tumour" in schema["properties"]
