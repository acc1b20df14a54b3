"""pathway layer: guideline rule packs, case model, evaluator, merge and explanation."""

# First: decides whether the compiled engine modules may be imported (_native.py says why).
from renalpath.pathway._native import STATUS as NATIVE_STATUS
from renalpath.pathway.api import UnknownPackError, recommend, recommend_many
from renalpath.pathway.case import Case, CaseValidationError, case_json_schema, parse_case
from renalpath.pathway.result import OptionRecord, RecommendResult

__all__ = [
    "NATIVE_STATUS",
    "Case",
    "CaseValidationError",
    "OptionRecord",
    "RecommendResult",
    "UnknownPackError",
    "case_json_schema",
    "parse_case",
    "recommend",
    "recommend_many",
]
