"""Case-form refusals in clinical words, each attached to the input it is about.

The engine names a problem by its model path and, for a range, quotes the validator
("Input should be greater than or equal to 1").  The form shows instead the field's clinical
label, the value, and the allowed range read from the same model constraints
("Tumour size (mm): 0 is outside 1–400 mm").  Creatinine is checked as one value-with-unit,
so its problems are re-attached to the input at fault: a value that fits the other unit
blames the unit.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from renalpath.clinical.common import Problem
from renalpath.pathway.case import Case
from renalpath.web import labels
from renalpath.web.errors import FieldError, json_safe

# Case inputs the form asks through another input: performance status is one choice there.
_ON_INPUT = {
    "patient.kps": "patient.performance_status",
    "patient.ecog": "patient.performance_status",
    "systemic.kps": "patient.performance_status",
}
_UNITS = {"_mm": "mm", "_pct": "%", "_years": "years", "_days": "days"}
_INDEX = re.compile(r"\[\d+\]")


def _info(path: str) -> FieldInfo | None:
    """The pydantic field behind a case path (None when the path is not a model field)."""
    model: type[BaseModel] = Case
    info: FieldInfo | None = None
    for part in _INDEX.sub("", path).split("."):
        fields = model.model_fields
        if part not in fields:
            return None
        info = fields[part]
        ann = info.annotation
        for _ in range(3):  # unwrap Optional[...] and list[...]
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            if typing.get_origin(ann) in (typing.Union, types.UnionType, list) and args:
                ann = args[0]
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
    return info


def allowed_range(path: str) -> str | None:
    """ "1–400 mm", "0–100 in steps of 10" … from the model's own constraints."""
    info = _info(path)
    if info is None:
        return None
    lo = hi = step = None
    strict_lo = False
    for meta in info.metadata:
        for name in ("ge", "gt", "le", "lt", "multiple_of"):
            value = getattr(meta, name, None)
            if value is None:
                continue
            if name in ("ge", "gt"):
                lo, strict_lo = value, name == "gt"
            elif name in ("le", "lt"):
                hi = value
            else:
                step = value
    if lo is None and hi is None:
        return None
    unit = next((u for suffix, u in _UNITS.items() if path.endswith(suffix)), "")
    if lo is not None and hi is not None:
        text = f"{lo:g}–{hi:g}"
    elif lo is not None:
        text = f"more than {lo:g}" if strict_lo else f"at least {lo:g}"
    else:
        text = f"at most {hi:g}"
    if unit:
        text += f" {unit}" if unit != "%" else " %"
    if step:
        text += f" in steps of {step:g}"
    return text


def _value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _clinical(p: Problem) -> FieldError:
    path = p.field
    hint = p.hint
    if path == "kidney.creatinine":
        if hint and hint.startswith("did you mean"):
            # The number is plausible in the other unit: the unit is what is wrong.
            unit = hint.removeprefix("did you mean ").rstrip("?")
            return FieldError(
                field="kidney.creatinine.unit",
                message=f"Creatinine unit: {_value(p.value)} is a value in {unit}, not in the "
                f"unit chosen; choose {unit} (or correct the value: allowed {p.allowed})",
                value=json_safe(p.value),
                allowed=p.allowed,
            )
        path = "kidney.creatinine.value"
    elif path == "kidney.creatinine_unit":
        path = "kidney.creatinine.unit"
    label = labels.field(path)
    at = _ON_INPUT.get(path, path)
    shown = "" if p.value is None else _value(p.value)
    allowed = p.allowed
    if allowed.startswith("Input should") or allowed.startswith("Value error"):
        allowed = allowed_range(path) or _plain(allowed)
    if p.value is None or hint == "value is required":
        message = f"{label}: required here ({allowed})"
    elif (re.search(r"\d", allowed) and "–" in allowed) or allowed.startswith(("at ", "more ")):
        message = f"{label}: {shown} is outside the allowed range {allowed}"
    else:
        message = f"{label}: {shown} is not accepted; expected {allowed}"
    if hint and hint not in ("value is required",):
        message += f" — {hint}"
    return FieldError(
        field=at, message=message, value=json_safe(p.value), allowed=allowed, hint=hint
    )


def _plain(text: str) -> str:
    text = text.removeprefix("Input should be ").removeprefix("Value error, ")
    return text.replace("'", "")


def clinical_errors(problems: Iterable[Problem]) -> list[FieldError]:
    """The refusals of a case, in clinical words, each on the input at fault."""
    return [_clinical(p) for p in problems]
