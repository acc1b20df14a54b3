"""The case model: every field optional, ranges and enumerations enforced, contradictions and
unknown fields refused with every problem named by its field path."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from renalpath.clinical.common import Problem
from renalpath.pathway import CaseValidationError, case_json_schema, parse_case, recommend


def problems(data: object) -> dict[str, Problem]:
    with pytest.raises(CaseValidationError) as info:
        parse_case(data, today=dt.date(2025, 6, 1))
    return {p.field: p for p in info.value.problems}


def test_empty_case_is_valid_and_asks_for_nothing_it_cannot_use() -> None:
    result = recommend({})
    assert result.options == []
    assert result.followup is None


def test_every_problem_is_listed_at_once_by_path() -> None:
    found = problems(
        {
            "patient": {"ecog": 7, "kps": 85},
            "tumour": {"size_mm": 0, "cm": "M1"},
            "metastases": [],  # M1 and "none listed" at once (left out it would be incomplete)
            "pathology": {"date": "2999-01-01"},
        }
    )
    assert {"patient.ecog", "patient.kps", "tumour.size_mm", "tumour.cm", "pathology.date"} <= set(
        found
    )


def test_unknown_field_is_refused_by_name() -> None:
    found = problems({"tumour": {"size_cm": 3}})
    assert "tumour.size_cm" in found
    assert "unknown field" in (found["tumour.size_cm"].hint or "")


def test_metastasis_index_in_path() -> None:
    found = problems({"metastases": [{"organ": "lung"}, {"organ": "bone", "size_mm": 0}]})
    assert "metastases[1].size_mm" in found


def test_cm1_without_metastases_refused() -> None:
    assert "tumour.cm" in problems({"tumour": {"cm": "M1"}, "metastases": []})


def test_cm0_with_synchronous_metastasis_refused() -> None:
    found = problems({"tumour": {"cm": "M0"}, "metastases": [{"synchronous": True}]})
    assert "metastases[0].synchronous" in found


def test_date_after_as_of_refused() -> None:
    found = problems({"as_of": "2024-01-01", "pathology": {"date": "2024-06-01"}})
    assert "pathology.date" in found


def test_creatinine_unit_mixup_gets_a_hint() -> None:
    found = problems({"kidney": {"creatinine": {"value": 120, "unit": "mg/dL"}}})
    problem = found["kidney.creatinine"]
    assert "µmol/L" in (problem.hint or "")


def test_failure_before_treatment_refused() -> None:
    found = problems(
        {
            "prior_treatment": {
                "date": "2024-05-01",
                "failure": "residual",
                "failure_date": "2024-01-01",
            }
        }
    )
    assert "prior_treatment.failure_date" in found


def test_bone_details_only_for_bone() -> None:
    assert "metastases[0].bone" in problems({"metastases": [{"organ": "lung", "bone": {}}]})


def test_schema_is_draft_2020_12_and_validates_the_design_example_shape() -> None:
    schema = case_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"patient": {"age": 64, "sex": "male"}, "tumour": {"size_mm": 35}})
    assert not validator.is_valid({"patient": {"age": 64, "shoe_size": 44}})


def test_unknown_tri_state_counts_as_missing() -> None:
    case = {
        "as_of": "2025-06-01",
        "patient": {"age": 58, "sex": "male", "fit_for_surgery": True, "frail": False},
        "kidney": {"solitary_kidney": "none", "bilateral_tumours": False, "egfr": 90},
        "tumour": {"size_mm": 30, "cm": "M0", "cn": "N0", "extension": {}, "central": False},
        "surgeon": {"pn_feasible": "unknown"},
    }
    result = recommend(case)
    assert "surgeon.pn_feasible" in result.missing_inputs
    assert result.status_of("radical_nephrectomy") == "blocked_missing_input"


def test_model_checks_report_exactly_what_the_raw_checks_report() -> None:
    # A valid model is checked on its typed attributes (fast path, case.py `model_problems`);
    # an invalid one on the raw mapping.  Both must name the same problems with the same
    # values, or a refusal would depend on which other field happened to be invalid.
    from renalpath.pathway.case import Case, _cross_field_problems, model_problems
    from tests.pathway.test_batch_equivalence import corpus

    today = dt.date(2025, 6, 1)
    contradictions: list[dict[str, Any]] = [
        {"tumour": {"cm": "M1"}, "metastases": []},
        {"tumour": {"cm": "M0"}, "metastases": [{"synchronous": True}, {"organ": "lung"}]},
        {"metastases": [{"organ": "lung", "bone": {"site": "upper_limb"}}]},
        {"kidney": {"solitary_kidney": "anatomic", "bilateral_tumours": True}},
        {"tumour": {"symptomatic": False, "symptoms": ["flank_pain"]}},
        {"prior_treatment": {"failure": "none", "failure_site": "ablation_zone"}},
        {"prior_treatment": {"failure": "none", "failure_date": "2024-01-01"}},
        {"prior_treatment": {"date": "2024-05-01", "failure_date": "2024-01-01"}},
        {"kidney": {"creatinine": {"value": 120, "unit": "mg/dL"}}},
        {"as_of": "2024-01-01", "pathology": {"date": "2024-06-01"}},
        {"pathology": {"date": "2999-01-01"}, "metastases": [{"date": "2999-01-01"}]},
    ]
    compared = flagged = 0
    for data in contradictions + corpus(300, seed=11):
        try:
            case = Case.model_validate(data)
        except ValidationError:  # invalid models take the raw path only
            continue
        raw = [p.__dict__ for p in _cross_field_problems(data, today)]
        assert [p.__dict__ for p in model_problems(case, today)] == raw, data
        compared += 1
        flagged += bool(raw)
    assert compared > 100 and flagged >= len(contradictions)
