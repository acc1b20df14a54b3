"""What one calculator is: request model, compute function, spec, and how the CLI spells it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from renalpath.clinical.common import CalculatorSpec, ClinicalInputError, Problem

Values = Mapping[str, Any]


class Request(BaseModel):
    """Base of every calculator's request model.

    strict: JSON `true` is not a size and "1.2" is not a number; the web form converts strings
    itself, so every path sees the same rules. Numbers are deliberately *not* range-checked
    here: the clinical calculators own every range and refuse by field name, so the API, the
    UI, the CLI and the registry give the same answer to the same bad input. Unknown fields are
    refused, never ignored.
    """

    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)


@dataclass(frozen=True)
class Calculator:
    """One calculator as every front end offers it.

    `compute` takes the request's values as a mapping (the validated model on the web, the
    parsed options on the command line) and returns the JSON payload both print. `cli_flags`
    overrides the default option spelling (`--field-name`) where the command line has its own
    established flags; `help` is the command's help text (first line = one-line summary).
    """

    name: str
    title: str
    request: type[BaseModel]
    compute: Callable[[Values], dict[str, Any]]
    headline: Callable[[dict[str, Any]], str]
    spec: CalculatorSpec
    help: str
    # Calculator field names that differ from the request field they come from.
    field_aliases: dict[str, str] = field(default_factory=dict)
    cli_flags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    spec_of: Callable[[Values], CalculatorSpec] | None = None

    def spec_for(self, request: BaseModel | Values | None) -> CalculatorSpec:
        """The spec of the formula actually used (eGFR: the chosen equation)."""
        if request is None or self.spec_of is None:
            return self.spec
        return self.spec_of(_values(request))

    def run(self, request: BaseModel | Values) -> dict[str, Any]:
        """Compute; re-raise a refusal with the problems renamed to request field names."""
        try:
            return self.compute(_values(request))
        except ClinicalInputError as err:
            if not any(p.field in self.field_aliases for p in err.problems):
                raise
            renamed = [
                Problem(self.field_aliases.get(p.field, p.field), p.value, p.allowed, p.hint)
                for p in err.problems
            ]
            raise ClinicalInputError(renamed) from None


def _values(request: BaseModel | Values) -> dict[str, Any]:
    return dict(request)


def score_headline(title: str) -> Callable[[dict[str, Any]], str]:
    """One-line result for the web page: score and group, or the group alone."""

    def headline(p: dict[str, Any]) -> str:
        if p.get("score") is None:
            return f"{title}: {p['group']}"
        return f"{title}: {p['score']} ({p['group']})"

    return headline
