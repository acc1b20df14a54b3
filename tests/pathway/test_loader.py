"""Packs are validated when they load; every kind of authoring mistake stops loudly."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from renalpath.pathway.conditions import PackError
from renalpath.pathway.loader import PACK_DIR, compile_pack, load_from, load_packs

GOOD_RULE: dict[str, Any] = {
    "id": "TST-01",
    "title": "test",
    "node": "LOC",
    "inputs": ["tumour.size_mm"],
    "when": {"le": ["tumour.size_mm", 40]},
    "emit": [{"option": "partial_nephrectomy", "status": "recommended"}],
    "strength": "EAU Strong",
    "verification": "S",
    "why": "a reason long enough",
    "sources": [{"title": "a source"}],
}


def pack(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"id": "t", "version": "1", "title": "t", "rules": list(rules)}


def rule(**changes: Any) -> dict[str, Any]:
    r = copy.deepcopy(GOOD_RULE)
    r.update(changes)
    return r


def test_good_pack_compiles() -> None:
    assert len(compile_pack(pack(rule()), "t.yaml").rules) == 1


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (rule(emit=[{"option": "laser_therapy", "status": "recommended"}]), "laser_therapy"),
        (rule(emit=[{"option": "partial_nephrectomy", "status": "maybe"}]), "status"),
        (rule(when={"le": ["tumour.size_cm", 40]}), "tumour.size_cm"),
        (rule(when={"eq": ["tumour.cm", "M3"]}), "M3"),
        (rule(when={"frobnicate": ["tumour.cm", "M1"]}), "frobnicate"),
        (rule(colour="red"), "colour"),
        (rule(strength="Very strong"), "Very strong"),
        (rule(when={"fired": "NOPE-01"}), "NOPE-01"),
        (rule(when={"is_true": "met.resectable"}), "met.resectable"),
        (rule(inputs=["tumour.nonsense"]), "tumour.nonsense"),
        (rule(emit=[{"option": "thermal_ablation", "status": "recommended"}]), "modality"),
        (rule(when={True: "tumour.central"}), "quote"),
    ],
)
def test_bad_rule_is_refused_naming_the_problem(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(PackError, match=message):
        compile_pack(pack(bad), "t.yaml")


def test_duplicate_rule_ids_refused() -> None:
    with pytest.raises(PackError, match="duplicate rule IDs: TST-01"):
        compile_pack(pack(rule(), rule()), "t.yaml")


def test_shipped_packs_load_and_are_cached() -> None:
    first = load_packs()
    assert set(first.packs) == {"oncolex", "eau", "salvage"}
    assert load_packs() is first
    onx = [r.spec.id for r in first.packs["oncolex"].rules]
    assert onx == [f"ONX-{i:02d}" for i in range(1, 16)]
    sal = sorted(r.spec.id for r in first.packs["salvage"].rules)
    # SAL-08b: recurrence after partial nephrectomy in a solitary kidney that cannot be ablated.
    assert sal == sorted([f"SAL-{i:02d}" for i in range(11)] + ["SAL-08b"])


def test_directory_loader_checks_file_name(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(pack(rule())))
    with pytest.raises(PackError, match="must match the file name"):
        load_from(tmp_path)


def test_conflict_register_names_real_rules(tmp_path: Path) -> None:
    for name in ("oncolex", "eau", "salvage"):
        (tmp_path / f"{name}.yaml").write_text((PACK_DIR / f"{name}.yaml").read_text())
    (tmp_path / "_conflicts.yaml").write_text(
        yaml.safe_dump(
            {"conflicts": [{"id": "C1", "packs": ["eau"], "rules": ["X-99"], "note": "n"}]}
        )
    )
    with pytest.raises(PackError, match="X-99"):
        load_from(tmp_path)


def _copy_shipped(tmp_path: Path) -> None:
    for path in PACK_DIR.glob("*.yaml"):
        (tmp_path / path.name).write_text(path.read_text())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"options": ["laser_therapy"]}, "laser_therapy"),
        ({"when": {"eq": ["patient.fitness", True]}}, "patient.fitness"),
        ({"max_status": "blocked_missing_input"}, "max_status"),
        ({"strength": "Very strong"}, "Very strong"),
        ({"flags": ["Not-Snake"]}, "Not-Snake"),
        ({"sources": []}, "sources"),
    ],
)
def test_bad_safety_gate_is_refused(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    _copy_shipped(tmp_path)
    gates = yaml.safe_load((PACK_DIR / "_gates.yaml").read_text())
    gates["gates"][0].update(change)
    (tmp_path / "_gates.yaml").write_text(yaml.safe_dump(gates, allow_unicode=True))
    with pytest.raises(PackError, match=message):
        load_from(tmp_path)


def test_choice_group_naming_an_unknown_rule_is_refused(tmp_path: Path) -> None:
    _copy_shipped(tmp_path)
    groups = yaml.safe_load((PACK_DIR / "_choice_groups.yaml").read_text())
    groups["groups"][0]["specific"].append("SRM-XX-99")
    (tmp_path / "_choice_groups.yaml").write_text(yaml.safe_dump(groups))
    with pytest.raises(PackError, match="SRM-XX-99"):
        load_from(tmp_path)


def test_pack_set_lists_every_pack_in_precedence_order() -> None:
    packset = load_packs()
    assert packset.order == ("eau", "salvage", "oncolex")
    assert packset.display_order == ("oncolex", "eau", "salvage")
    assert packset.select(["oncolex", "eau"]) == ("eau", "oncolex")
    assert [g.spec.id for g in packset.gates.gates][:2] == ["GATE-BOSNIAK", "GATE-UNFIT"]
