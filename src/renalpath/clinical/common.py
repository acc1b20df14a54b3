"""Shared value types for every calculator.

Calculators refuse bad input instead of clamping it, and every refusal must name the field,
the value, the allowed range and (where it helps) the likely cause.  Keeping that in one
exception type lets the CLI, the pathway engine, the importer and the web layer all report
refusals the same way.  Every result carries its equation/score id, version and source so a
stored number can always be traced back to the formula that produced it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from renalpath.errors import InvalidInput


@dataclass(frozen=True)
class Problem:
    """One reason an input was refused."""

    field: str
    value: object
    allowed: str
    hint: str | None = None

    def message(self) -> str:
        text = f"{self.field}: {self.value!r} is not allowed (allowed: {self.allowed})"
        if self.hint:
            text += f"; {self.hint}"
        return text


class ClinicalInputError(InvalidInput, ValueError):
    """Input refused by a calculator; carries every problem found, each naming its field."""

    def __init__(self, problems: Problem | Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = (
            (problems,) if isinstance(problems, Problem) else tuple(problems)
        )
        super().__init__("; ".join(p.message() for p in self.problems))

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(p.field for p in self.problems)

    def messages(self) -> list[str]:
        return [p.message() for p in self.problems]


@dataclass(frozen=True)
class Source:
    """A citation: short title, section or table, URL and the verification tag."""

    title: str
    section: str = ""
    url: str = ""
    verification: str = ""  # V, S, R, B or P as in verification tags (docs/clinical-content.md)


@dataclass(frozen=True)
class InputSpec:
    """What `--explain` and `--help` show for one input."""

    name: str
    unit: str
    allowed: str
    description: str = ""


@dataclass(frozen=True)
class CalculatorSpec:
    """Everything a clinician reads before trusting a number (the MDCalc 'evidence' panel)."""

    id: str
    name: str
    version: str
    formula: str
    inputs: tuple[InputSpec, ...]
    bands: tuple[str, ...]
    sources: tuple[Source, ...]
    notes: tuple[str, ...] = ()

    def explain(self) -> str:
        lines = [f"{self.name}  [{self.id} v{self.version}]", "", "Formula:", f"  {self.formula}"]
        lines += ["", "Inputs (unit; valid range):"]
        lines += [
            f"  {i.name}: {i.unit}; {i.allowed}" + (f" — {i.description}" if i.description else "")
            for i in self.inputs
        ]
        lines += ["", "Interpretation:"] + [f"  {b}" for b in self.bands]
        lines += ["", "Sources:"]
        for s in self.sources:
            ref = ", ".join(x for x in (s.section, s.url) if x)
            tag = f" [{s.verification}]" if s.verification else ""
            lines.append(f"  {s.title}{tag}" + (f" ({ref})" if ref else ""))
        if self.notes:
            lines += ["", "Notes:"] + [f"  {n}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CalcResult:
    """Base of every calculator result: value, interpretation band and provenance."""

    calculator_id: str
    version: str
    band: str
    sources: tuple[Source, ...]
    flags: tuple[str, ...] = field(default=(), kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def require_range(
    field_name: str,
    value: float | int | None,
    low: float,
    high: float,
    unit: str = "",
    hint: str | None = None,
) -> float:
    """Refuse a missing, non-finite or out-of-range number; never clamp it."""
    allowed = f"{low:g}–{high:g}" + (f" {unit}" if unit else "")
    if value is None:
        raise ClinicalInputError(Problem(field_name, value, allowed, "value is required"))
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ClinicalInputError(Problem(field_name, value, allowed, "a number is required"))
    if not math.isfinite(value) or not low <= value <= high:
        raise ClinicalInputError(Problem(field_name, value, allowed, hint))
    return float(value)


def require_choice(
    field_name: str, value: object, choices: Sequence[str] | Mapping[str, Any]
) -> str:
    """Refuse a value outside an enumeration, listing the allowed values."""
    allowed = ", ".join(choices)
    if not isinstance(value, str) or value not in choices:
        raise ClinicalInputError(Problem(field_name, value, f"one of {allowed}"))
    return value
