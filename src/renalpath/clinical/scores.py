"""Result type and input checks shared by the point scores (Leibovich, SSIGN, IMDC, MSKCC, Mirels).

Point scores are added up from categorical inputs, so the dangerous failure is not a wrong
formula but a silently assumed input (a missing lab treated as normal, `True` passed as a
grade).  These checks refuse anything that is not exactly the expected kind of value, naming
the field, so a caller such as the pathway can turn the refusal into a `missing_inputs` entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from renalpath.clinical.common import CalcResult, ClinicalInputError, Problem, Source

# Flag put on any result whose point weights or thresholds are tagged [R] (recalled)
# (recalled from the primary source, not verified): a clinician must confirm before release.
NEEDS_VERIFICATION = "needs_verification"
NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class ScoreResult(CalcResult):
    """A point score with its risk group.

    `score` is None only when the model does not apply (e.g. Leibovich on papillary RCC,
    `group == "not_applicable"`).  `score_alt`/`group_alt` carry the second reading when an
    input is indeterminate (ECOG 1 without KPS: main = KPS ≥ 80, alt = KPS < 80).
    """

    score: int | None
    group: str
    components: dict[str, int] = field(default_factory=dict, kw_only=True)
    score_alt: int | None = field(default=None, kw_only=True)
    group_alt: str | None = field(default=None, kw_only=True)
    notes: tuple[str, ...] = field(default=(), kw_only=True)


def clear_cell_only(
    calculator_id: str, version: str, model: str, sources: tuple[Source, ...], histology: str
) -> ScoreResult:
    """The result of a clear-cell-only score (Leibovich, SSIGN) for another histology: the model
    says nothing about such tumours, so no score and group `not_applicable`."""
    return ScoreResult(
        calculator_id,
        version,
        f"not applicable: {model} was derived on clear-cell RCC only",
        sources,
        None,
        NOT_APPLICABLE,
        notes=(f"histology {histology}: the score is defined for clear-cell RCC only",),
    )


def require_bool(field_name: str, value: object, hint: str | None = None) -> bool:
    """Refuse anything but a real bool; None means 'not known', which is never assumed False."""
    if not isinstance(value, bool):
        why = hint or ("value is required" if value is None else "true or false is required")
        raise ClinicalInputError(Problem(field_name, value, "true or false", why))
    return value


def require_int(
    field_name: str,
    value: object,
    low: int,
    high: int,
    unit: str = "",
    step: int = 1,
    hint: str | None = None,
) -> int:
    """Refuse a missing, non-integer, out-of-range or off-step whole number (never round it)."""
    allowed = f"whole numbers {low}–{high}" + (f" in steps of {step}" if step != 1 else "")
    allowed += f" {unit}" if unit else ""
    if value is None:
        raise ClinicalInputError(Problem(field_name, value, allowed, hint or "value is required"))
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ClinicalInputError(
                Problem(field_name, value, allowed, hint or "a whole number is required")
            )
    if not low <= value <= high:
        raise ClinicalInputError(Problem(field_name, value, allowed, hint))
    if (value - low) % step:
        raise ClinicalInputError(
            Problem(field_name, value, allowed, hint or f"not a multiple of {step}")
        )
    return value


def collect_bool_factors(
    problems: list[Problem], named: tuple[tuple[str, object, str], ...], hint: str
) -> dict[str, int]:
    """Score each (input name, value, component) yes/no factor as 0/1; every refusal is added
    to `problems` so one error names all missing factors (IMDC and MSKCC lab factors)."""
    out: dict[str, int] = {}
    for name, value, component in named:
        try:
            out[component] = int(require_bool(name, value, hint if value is None else None))
        except ClinicalInputError as err:
            problems.extend(err.problems)
    return out


def factor_count_group(score: int) -> str:
    """Favourable 0 / intermediate 1–2 / poor ≥ 3: the grouping IMDC (Heng 2009 [V]) and
    MSKCC 2002 (Motzer 2002 [V]) share; each model keeps its own band texts."""
    if score == 0:
        return "favourable"
    return "intermediate" if score <= 2 else "poor"


def normalise_token(value: object) -> str | None:
    """Lower-case, trimmed text with '-' and spaces as '_', or None for a non-string."""
    if not isinstance(value, str):
        return None
    return value.strip().lower().replace("-", "_").replace(" ", "_")
