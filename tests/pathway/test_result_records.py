"""Option records hold the merge's shared tuples and list them only when read (result.py).

Why these tests: a batch shares one merged outcome between every case that has it, so a
record must still behave as a dataclass with its own list fields — a caller that edits one
result must never change another, or a later one — and `to_dict` must not depend on
whether a field was ever read.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from renalpath.pathway import OptionRecord, RecommendResult, recommend, recommend_many

CASES = Path(__file__).parent / "cases"
TODAY = dt.date(2025, 6, 1)
V03 = json.loads((CASES / "v03_fit_ct1a.json").read_text())
LIST_FIELDS = ("rule_ids", "flags", "sources", "counselling", "missing", "contributions")


def _record(**changes: object) -> OptionRecord:
    fields: dict[str, object] = {
        "option": "partial_nephrectomy",
        "modality": None,
        "target": None,
        "status": "recommended",
        "strength": "strong",
        "rule_ids": ["LOC-PN-01"],
        "pack": "eau",
        "why": "a reason",
        "flags": [],
        "verification": "V",
        "sources": [{"title": "t"}],
    }
    fields.update(changes)
    return OptionRecord(**fields)  # type: ignore[arg-type]


def test_list_fields_read_as_lists_and_edits_stick() -> None:
    rec = _record(rule_ids=("A", "B"), flags=("f",))
    assert rec.rule_ids == ["A", "B"] and type(rec.rule_ids) is list
    assert rec.rule_ids is rec.rule_ids  # one list, so an edit is kept
    rec.flags.append("g")
    rec.missing.append("tumour.cm")
    assert rec.flags == ["f", "g"] and rec.missing == ["tumour.cm"]
    assert rec.to_dict()["flags"] == ["f", "g"]
    assert rec.to_dict()["missing"] == ["tumour.cm"]
    rec.counselling = ["talk"]
    assert rec.counselling == ["talk"] and rec.to_dict()["counselling"] == ["talk"]


def test_defaults_equality_and_repr_as_a_dataclass() -> None:
    rec = _record()
    assert rec.counselling == [] and rec.missing == [] and rec.contributions == []
    assert _record() == _record()
    assert _record(rule_ids=("LOC-PN-01",)) == _record()  # a tuple reads as the same list
    assert _record() != _record(status="discuss")
    assert _record().__eq__("partial_nephrectomy") is NotImplemented
    assert repr(rec).startswith("OptionRecord(option='partial_nephrectomy', modality=None")
    assert "rule_ids=['LOC-PN-01']" in repr(rec)
    match rec:
        case OptionRecord(option, _modality, _target, status):
            assert (option, status) == ("partial_nephrectomy", "recommended")
        case _:
            raise AssertionError("positional match on the fields")


def test_editing_one_result_never_changes_another() -> None:
    # The same case twice in one batch, then once alone: all three share merged outcomes.
    first, second = recommend_many([V03, V03], today=TODAY)
    assert isinstance(first, RecommendResult) and isinstance(second, RecommendResult)
    before = json.dumps(second.to_dict(), sort_keys=True)
    assert first.options
    for o in first.options:
        for name in LIST_FIELDS:
            getattr(o, name).append(name)
    assert json.dumps(second.to_dict(), sort_keys=True) == before
    later = recommend(V03, today=TODAY)
    assert json.dumps(later.to_dict(), sort_keys=True) == before
    assert all(o.rule_ids[-1] == "rule_ids" for o in first.options)


def test_to_dict_gives_fresh_containers() -> None:
    result = recommend(V03, today=TODAY)
    out = result.to_dict()
    for o in out["options"]:
        o["rule_ids"].append("X")
        o["sources"][0]["title"] = "edited"
    again = result.to_dict()
    assert all("X" not in o["rule_ids"] for o in again["options"])
    assert all(o["sources"][0]["title"] != "edited" for o in again["options"])
