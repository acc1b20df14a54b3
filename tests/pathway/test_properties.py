"""Property: any case the schema allows and the validator accepts gets a valid result —
options and statuses only from the option/status vocabulary, blocked options name their missing
inputs, and the engine never raises.  Cases are generated from the published JSON Schema.

hypothesis-jsonschema 0.23.1 cannot generate *objects* with hypothesis 6.170 (it calls the
removed private `many.more()`), so objects and arrays are walked here and every leaf schema
(enums, bounded numbers, dates) is handed to `hypothesis_jsonschema.from_schema`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from renalpath.pathway import CaseValidationError, case_json_schema, parse_case, recommend
from renalpath.pathway.followup import followup_applies
from renalpath.pathway.vocabulary import OPTION_CODES, STATUSES

TODAY = dt.date(2025, 6, 1)
SCHEMA = case_json_schema()


def _strategy(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "$ref" in schema:
        return st.deferred(lambda: _strategy(SCHEMA["$defs"][schema["$ref"].split("/")[-1]]))
    if "anyOf" in schema:
        return st.one_of([_strategy(s) for s in schema["anyOf"]])
    if schema.get("type") == "object":
        props = {k: _strategy(v) for k, v in schema.get("properties", {}).items()}
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {k: v for k, v in props.items() if k in required},
            optional={k: v for k, v in props.items() if k not in required},
        )
    if schema.get("type") == "array":
        return st.lists(_strategy(schema["items"]), max_size=3)
    return from_schema(schema)


def _repair(case: Any) -> Any:
    """Replace generated dates (mostly in the far future) by past ones; keep the rest."""
    if isinstance(case, dict):
        out = {}
        for key, value in case.items():
            if key in ("date", "failure_date", "as_of") and isinstance(value, str):
                out[key] = "2024-01-01" if key != "failure_date" else "2024-06-01"
            else:
                out[key] = _repair(value)
        return out
    if isinstance(case, list):
        return [_repair(v) for v in case]
    return case


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(_strategy(SCHEMA).map(_repair))
def test_random_valid_cases_give_valid_results(case: dict[str, Any]) -> None:
    try:
        model = parse_case(case, TODAY)
    except CaseValidationError:
        assume(False)
        return
    result = recommend(model, today=TODAY)
    data = result.to_dict()
    assert set(data) >= {
        "derived",
        "options",
        "missing_inputs",
        "flags",
        "conflicts",
        "followup",
        "packs",
    }
    for option in result.options:
        assert option.option in OPTION_CODES
        assert option.status in STATUSES
        if option.status == "blocked_missing_input":
            assert option.missing
            assert set(option.missing) <= set(result.missing_inputs)
        if option.status == "not_recommended":
            assert option.rule_ids and option.why
    assert (result.followup is not None) == followup_applies(model)


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(1, 400),
    age=st.integers(18, 100),
    fit=st.booleans(),
    feasible=st.sampled_from(["yes", "no", "unknown"]),
    pack=st.sampled_from([["oncolex"], ["eau"], ["salvage"], None]),
)
def test_localised_cases_never_contradict_themselves(
    size: int, age: int, fit: bool, feasible: str, pack: list[str] | None
) -> None:
    case = {
        "as_of": "2025-06-01",
        "patient": {"age": age, "sex": "female", "fit_for_surgery": fit, "frail": not fit},
        "kidney": {"solitary_kidney": "none", "bilateral_tumours": False, "egfr": 70},
        "tumour": {"size_mm": size, "cm": "M0", "cn": "N0", "extension": {}, "central": False},
        "surgeon": {"pn_feasible": feasible},
    }
    result = recommend(case, pack)
    keys = [(o.option, o.modality, o.target) for o in result.options]
    assert len(keys) == len(set(keys))  # one merged record per option
