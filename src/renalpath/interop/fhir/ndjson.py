"""Exported resources as NDJSON lines: one JSON encoder built once, and text templates for the
resources whose shape is fixed.

Why: the Bulk Data export writes ≈ 35 resources per patient, and building each as a dict of
dicts and then encoding it was most of its time. Laboratory Observations (≈ 40 % of the
resources) and TNM category Observations (≈ 25 %) have a shape fixed by a few coded values (the
test, unit and equation and which optional values are present; the axis, basis, category,
prefix and edition), so their text is a template filled with a handful of encoded values.

The templates are not written by hand: each is the encoder's own text of the resource built by
the same code as the dict export (`mapping.lab_resource`, `mapping.tnm_observation`) with a
placeholder string where each per-row value goes, cut at the placeholders. Each placeholder is
then filled with the encoder's text of that value (`encode_basestring` for a string, the float
repr for a number, the registry-row extension written as the encoder writes it), so the lines
are the encoder's bytes; the tests compare them with `dumps` of the dicts resource by resource.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from renalpath.interop.fhir import codes as c
from renalpath.interop.fhir.mapping import (
    _COLUMNS,
    Builders,
    Encoded,
    PatientRows,
    Resource,
    built_resources,
    lab_resource,
    tnm_observation,
    with_source,
)

_ENCODER = json.JSONEncoder(ensure_ascii=False, check_circular=False, separators=(",", ":"))
# The C encoder `_ENCODER.encode` builds on every call, built once: without circular-reference
# markers it keeps no state between calls, and its output is the same text.
_C_ENCODE = getattr(json.encoder, "c_make_encoder", None)
_ENCODE_ONCE: Callable[[Any, int], Any] | None = (
    _C_ENCODE(
        None,
        _ENCODER.default,
        json.encoder.encode_basestring,
        None,
        _ENCODER.key_separator,
        _ENCODER.item_separator,
        False,
        False,
        True,
    )
    if _C_ENCODE is not None
    else None
)
# A string as the encoder writes it (ensure_ascii=False): quoted, with JSON escapes.
text = json.encoder.encode_basestring


def dumps(resource: Resource) -> str:
    """The resource's JSON text: compact separators, non-ASCII kept, keys in dict order."""
    if _ENCODE_ONCE is None:
        return _ENCODER.encode(resource)
    return "".join(_ENCODE_ONCE(resource, 0))


def number(value: float) -> str:
    """A float as the encoder writes it (its repr; NaN and ±Infinity as `allow_nan` does)."""
    if math.isfinite(value):
        return float.__repr__(value)
    if value != value:
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def reference(ref: dict[str, str]) -> str:
    """A `{"reference": ...}` (`mapping._ref`) as the encoder writes it."""
    return '{"reference":' + text(ref["reference"]) + "}"


def _slot(n: int) -> str:
    """Placeholder n: a string no registry value or code table gives (it starts with NUL)."""
    return f"\x00{n}\x00"


_SLOT_TEXT = re.compile(r'"\\u0000(\d+)\\u0000"')  # a placeholder as the encoder writes it


def template(resource: Resource) -> Callable[..., str]:
    """The encoder's text of `resource`, which holds placeholders `_slot(n)` where values go,
    as a function of the values' texts (positional: value n fills placeholder n; each
    placeholder appears at most once, in any order)."""
    parts = _SLOT_TEXT.split(dumps(resource))
    slots = parts[1::2]
    if len(set(slots)) != len(slots):
        raise AssertionError(f"a placeholder appears twice in {parts!r}")
    out = []
    for i, part in enumerate(parts):
        out.append(part.replace("{", "{{").replace("}", "}}") if i % 2 == 0 else "{" + part + "}")
    return "".join(out).format


# ------------------------------------------------------------------ the registry-row extension

_ROW_HEAD: dict[str, str] = {}
_COLUMN_HEADS: dict[str, tuple[str, ...]] = {}


def registry_row_text(file: str, row: Mapping[str, str]) -> str:
    """`mapping.registry_row(file, row)` as the encoder writes it."""
    head = _ROW_HEAD.get(file)
    if head is None:
        head = _ROW_HEAD[file] = (
            '{"url":' + text(c.REGISTRY_ROW) + ',"extension":[{"url":"file","valueCode":'
            f"{text(file)}}}"
        )
        _COLUMN_HEADS[file] = tuple(
            ',{"url":' + text(col) + ',"valueString":' for col in _COLUMNS[file]
        )
    cols = _COLUMNS[file]
    values: Iterable[str]
    if tuple(row) == cols:  # the row has exactly the file's columns, in order (as read)
        values = row.values()
    else:
        get = row.get
        values = [get(col, "") for col in cols]
    parts = [head]
    for col_head, v in zip(_COLUMN_HEADS[file], values, strict=True):
        if v != "":
            parts += (col_head, text(v), "}")
    parts.append("]}")
    return "".join(parts)


# ------------------------------------------------------------------ laboratory Observations

_LAB: dict[tuple[str, str, str, bool, bool, bool], Callable[..., str]] = {}


def _lab_template(key: tuple[str, str, str, bool, bool, bool]) -> Callable[..., str]:
    test, unit, equation, comparator, low, high = key
    shape = {"test": test, "unit": unit, "equation": equation, "date": _slot(3)}
    if comparator:
        shape["comparator"] = _slot(5)
    res = lab_resource(
        shape,
        _slot(2),  # a placeholder where the reference goes
        _slot(0),
        ext=_slot(1),
        value=_slot(4),
        low=_slot(6) if low else None,
        high=_slot(7) if high else None,
    )
    fill = _LAB[key] = template(with_source(res))
    return fill


def lab_text(r: Mapping[str, str], patient_ref: dict[str, str], oid: str) -> Encoded:
    """`mapping.lab_observation` (with meta.source) as its NDJSON text."""
    get = r.get
    comparator, lln, uln = get("comparator", ""), get("lln", ""), get("uln", "")
    key = (r["test"], r["unit"], get("equation", ""), bool(comparator), bool(lln), bool(uln))
    fill = _LAB.get(key) or _lab_template(key)
    return Encoded(
        "Observation",
        oid,
        fill(
            text(oid),
            registry_row_text("labs", r),
            reference(patient_ref),
            text(r["date"]),
            number(float(r["value"])),
            text(comparator),
            number(float(lln)) if lln else "",
            number(float(uln)) if uln else "",
        ),
    )


# ------------------------------------------------------------------ TNM category Observations

_TNM: dict[tuple[str, str, str, str | None, str], Callable[..., str]] = {}


def tnm_text(
    axis: str,
    basis: str,
    value: str,
    *,
    oid: str,
    date: str,
    patient_ref: dict[str, str],
    condition_ref: dict[str, str],
    prefix: str | None = None,
    method: str = "ajcc8",
) -> Encoded:
    """`mapping.tnm_observation` (with meta.source) as its NDJSON text."""
    key = (axis, basis, value, prefix, method)
    fill = _TNM.get(key)
    if fill is None:
        res = tnm_observation(
            axis,
            basis,
            value,
            oid=_slot(0),
            date=_slot(3),
            patient_ref=_slot(1),  # type: ignore[arg-type]  # placeholders for references
            condition_ref=_slot(2),  # type: ignore[arg-type]
            prefix=prefix,
            method=method,
        )
        fill = _TNM[key] = template(with_source(res))
    return Encoded(
        "Observation",
        oid,
        fill(text(oid), reference(patient_ref), reference(condition_ref), text(date)),
    )


TEXT_BUILDERS = Builders(lab=lab_text, tnm=tnm_text)


def patient_lines(rows: PatientRows) -> list[tuple[str, str]]:
    """Every resource of one patient as (resourceType, its JSON text without the newline),
    the Patient first: the lines `dumps(r) for r in mapping.patient_resources(rows)` gives."""
    return [
        (b.kind, b.text) if isinstance(b, Encoded) else (b["resourceType"], dumps(with_source(b)))
        for b in built_resources(rows, TEXT_BUILDERS)
    ]
