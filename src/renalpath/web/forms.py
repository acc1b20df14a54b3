"""HTML forms generated from the same pydantic models the API validates with.

Why generate: a form field per model field means the UI can never accept an input the API
refuses (or the reverse), and an error's field path from the validator is exactly the
`name` of the input it belongs next to.  Form strings are converted to numbers here (not by
pydantic's lax string parsing) so a typo like "1,35" is reported on its field instead of
slipping through as a string into cross-field checks that expect numbers.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from renalpath.clinical.common import Problem

Kind = Literal["number", "integer", "text", "select", "checkbox", "tristate", "multi", "date"]
PRESENT = "__present"  # UI-only flag: include an all-flags sub-object even with nothing ticked
NONE = "__none"  # UI-only choice of a multi-select: "none" stated (an empty list), not unknown


@dataclass(frozen=True)
class FormField:
    name: str  # dotted path, used as the input's name and matched against error paths
    label: str
    kind: Kind
    choices: tuple[str, ...] = ()
    help: str = ""
    default: str = ""
    required: bool = False

    @property
    def dom_id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)


@dataclass(frozen=True)
class FieldGroup:
    title: str
    fields: tuple[FormField, ...]


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(inner annotation, optional?) for `X | None`."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        if len(args) == 1:
            return args[0], optional
    return annotation, False


def _is_model(ann: Any) -> bool:
    return isinstance(ann, type) and issubclass(ann, BaseModel)


_WORDS = {
    "cn": "cN",
    "cm": "cM",
    "pt": "pT",
    "pn": "pN",
    "pm": "pM",
    "t": "T",
    "n": "N",
    "m": "M",
    "ap": "A/P",
    "ucs": "UCS",
    "egfr": "eGFR",
    "ecog": "ECOG",
    "kps": "KPS",
    "isup": "ISUP",
    "ivc": "IVC",
    "rcc": "RCC",
    "ldh": "LDH",
    "hb": "Hb",
    "lln": "LLN",
    "uln": "ULN",
    "dx": "diagnosis",
    "io": "IO",
    "mis": "MIS",
    "ned": "NED",
    "pct": "%",
    "mm": "(mm)",
    "postop": "post-op",
}


def humanise(name: str) -> str:
    raw = name.strip("_").replace("1_5", "1.5").replace("mg_dl", "mg/dL").split("_")
    words = [_WORDS.get(w, w) for w in raw]
    text = " ".join(words)
    return text if raw[0] in _WORDS else text[:1].upper() + text[1:]


def field_for(name: str, info: FieldInfo) -> FormField | None:
    """A form field for one scalar model field (None for nested models and model lists)."""
    ann, optional = _unwrap(info.annotation)
    origin = typing.get_origin(ann)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    default = "" if info.is_required() or info.default is None else info.default
    help_text = info.description or ""
    label = humanise(name.rsplit(".", 1)[-1].split("]")[-1].lstrip("."))
    choices: tuple[str, ...] = ()
    kind: Kind
    if origin is Literal:
        kind, choices = "select", tuple(str(a) for a in typing.get_args(ann))
    elif origin is list:
        inner, _ = _unwrap(typing.get_args(ann)[0])
        if typing.get_origin(inner) is not Literal:
            return None
        kind, choices = "multi", tuple(str(a) for a in typing.get_args(inner))
    elif ann is bool:
        kind = "tristate" if optional else "checkbox"
    elif ann is int:
        kind = "integer"
    elif ann is float:
        kind = "number"
    elif ann is dt.date:
        kind = "date"
    elif ann is str:
        ui = extra.get("ui_choices")
        if isinstance(ui, list):
            kind, choices = "select", tuple(str(c) for c in ui)
        else:
            kind = "text"
    else:
        return None
    if isinstance(default, bool):
        default_text = "true" if default else ""
    else:
        default_text = str(default) if default != "" and not callable(default) else ""
    return FormField(
        name,
        label,
        kind,
        choices,
        help_text,
        default_text,
        required=not optional and kind != "checkbox",
    )


def fields_of(model: type[BaseModel], prefix: str = "") -> list[FormField]:
    """Every scalar field of `model` (not descending into nested models)."""
    out: list[FormField] = []
    for name, info in model.model_fields.items():
        ff = field_for(prefix + name, info)
        if ff is not None:
            out.append(ff)
    return out


def groups_of(model: type[BaseModel], prefix: str, title: str) -> list[FieldGroup]:
    """The model's scalar fields as one group, then one group per nested sub-model."""
    groups = [FieldGroup(title, tuple(fields_of(model, prefix)))]
    for name, info in model.model_fields.items():
        ann, optional = _unwrap(info.annotation)
        if not _is_model(ann):
            continue
        sub = fields_of(ann, f"{prefix}{name}.")
        if optional and sub and all(f.kind == "checkbox" for f in sub):
            # An all-flags object: present means "assessed, unticked = absent".
            sub.insert(
                0,
                FormField(
                    f"{prefix}{name}.{PRESENT}",
                    "Assessed (unticked items absent)",
                    "checkbox",
                    help="leave unticked if not assessed: the engine then asks for it",
                ),
            )
        groups.append(FieldGroup(f"{title} — {humanise(name)}", tuple(sub)))
    return groups


# ---------------------------------------------------------------------------- form → data


def _number(ff: FormField, raw: str) -> tuple[float | int | None, Problem | None]:
    text = raw.strip()
    try:
        value = float(text)
    except ValueError:
        hint = "use a decimal point, not a comma" if "," in text else None
        return None, Problem(ff.name, raw, "a number", hint)
    if not math.isfinite(value):
        return None, Problem(ff.name, raw, "a finite number")
    if ff.kind == "integer":
        if not value.is_integer():
            return None, Problem(ff.name, raw, "a whole number")
        return int(value), None
    return value, None


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    cur: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        nxt = parts[i + 1] if not last else None
        if part.startswith("["):
            idx = int(part[1:-1])
            while len(cur) <= idx:
                cur.append({})
            if last:
                cur[idx] = value
            else:
                cur = cur[idx]
            continue
        if last:
            cur[part] = value
        else:
            cur = cur.setdefault(part, [] if nxt and nxt.startswith("[") else {})


def _getlist(form: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(form, "getlist", None)
    if callable(getlist):
        return [v for v in getlist(name) if isinstance(v, str)]
    value = form.get(name)
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return [value] if isinstance(value, str) else []


def form_to_data(
    form: Mapping[str, Any], fields: Sequence[FormField]
) -> tuple[dict[str, Any], list[Problem]]:
    """Nested data from submitted form values; blank inputs are left out (= not known)."""
    data: dict[str, Any] = {}
    problems: list[Problem] = []
    flag_objects = {f.name[: -len(PRESENT) - 1] for f in fields if f.name.endswith(PRESENT)}
    present_objects = {p for p in flag_objects if form.get(f"{p}.{PRESENT}")}
    for ff in fields:
        if ff.name.endswith(PRESENT):
            continue
        parent = ff.name.rsplit(".", 1)[0]
        if ff.kind == "multi":
            values = _getlist(form, ff.name)
            if NONE in values:
                if len(values) > 1:
                    problems.append(Problem(ff.name, values, "either none or the items present"))
                    continue
                values = []  # absence stated
                set_path(data, ff.name, values)
            elif values:
                set_path(data, ff.name, values)
            continue
        raw = form.get(ff.name)
        if ff.kind == "checkbox":
            ticked = isinstance(raw, str) and raw not in ("", "false", "off")
            if ticked or parent in present_objects or parent not in flag_objects:
                set_path(data, ff.name, ticked)
            continue
        if not isinstance(raw, str) or raw.strip() == "":
            continue
        value: Any = raw.strip()
        if ff.kind in ("number", "integer"):
            value, problem = _number(ff, raw)
            if problem is not None:
                problems.append(problem)
                continue
        elif ff.kind == "tristate":
            if value not in ("true", "false"):
                problems.append(Problem(ff.name, raw, "yes | no | not known"))
                continue
            value = value == "true"
        set_path(data, ff.name, value)
    return data, problems


def compact(data: Any) -> Any:
    """Drop empty sub-objects and list items (a metastasis row left blank is not a row)."""
    if isinstance(data, dict):
        out = {k: compact(v) for k, v in data.items()}
        return {k: v for k, v in out.items() if v not in ({}, None)}
    if isinstance(data, list):
        items = [compact(v) for v in data]
        return [v for v in items if v not in ({}, None)]
    return data
