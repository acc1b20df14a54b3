"""Correcting one lab value: validated like an import, audited with old → new and the reason.

The write itself is the registry's one correction path, `registry.records.update_record`:
validated as an import of the corrected row would be, its eGFR recomputed with the equation
the row was stored with, audited old → new, all under the registry's write lock, so the old
value in the audit trail is the value actually replaced. A form may also send the value its
user saw (`seen`): if the stored value changed since (another correction, an import), the
correction is refused as a conflict instead of silently overwriting a change its author never
saw. With `patient_id` the lab must belong to that patient — checked before anything is
written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import Engine, select

from renalpath.errors import Conflict, NotFound, Refusal
from renalpath.registry import records
from renalpath.registry.cells import format_number
from renalpath.registry.models import Lab
from renalpath.web.errors import FieldError, json_safe


class LabNotFound(NotFound, LookupError):
    pass


class LabConflict(Conflict):
    """The stored value is no longer the one the correction was based on."""

    def __init__(self, message: str, stored: float) -> None:
        super().__init__(message)
        self.stored = stored


class LabEditRefused(Refusal, ValueError):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class LabEdit:
    lab_id: int
    patient_id: str
    entity_id: str  # the audit id of a lab: patient_id|date|test (registry.importer)
    old: float
    new: float
    egfr: float | None
    egfr_equation: str | None


def parse_value(raw: object) -> float:
    if isinstance(raw, bool) or raw is None or raw == "":
        raise LabEditRefused(
            [FieldError(field="value", message="value: a number is required", value=json_safe(raw))]
        )
    try:
        number = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise LabEditRefused(
            [FieldError(field="value", message="value: a number is required", value=json_safe(raw))]
        ) from None
    if not math.isfinite(number):
        raise LabEditRefused(
            [FieldError(field="value", message="value: must be a finite number", value=str(raw))]
        )
    return number


def correct_lab(
    engine: Engine,
    lab_id: int,
    raw_value: object,
    reason: str,
    actor: str,
    *,
    patient_id: str | None = None,
    seen: object = None,
) -> LabEdit:
    """Validate, update the value and its eGFR, and audit — one registry write
    (`records.update_record`), so a correction is checked exactly as an import of the corrected
    row would be.

    LabNotFound if the lab does not exist or (with `patient_id`) belongs to another patient;
    LabConflict if `seen` is given and differs from the stored value."""
    errors: list[FieldError] = []
    value: float | None = None
    try:
        value = parse_value(raw_value)
    except LabEditRefused as err:
        errors += err.errors
    if not (reason or "").strip():
        errors.append(FieldError(field="reason", message="reason: a reason is required"))
    expected: float | None = None
    if seen is not None and seen != "":
        try:
            expected = parse_value(seen)
        except LabEditRefused:
            errors.append(
                FieldError(field="seen", message="seen: not a number", value=json_safe(seen))
            )
    if errors or value is None:
        # Checked before the write only to report every field at once; the registry refuses a
        # missing reason or a non-number itself.
        raise LabEditRefused(errors)
    try:
        result = records.update_record(
            engine,
            "labs",
            lab_id,
            {"value": format_number(value)},
            reason,
            actor,
            owner=patient_id,
            seen=None if expected is None else {"value": format_number(expected)},
        )
    except records.RecordNotFound as err:
        raise LabNotFound(str(err)) from None
    except records.RecordConflict as err:
        stored = _stored_value(engine, lab_id)
        raise LabConflict(str(err), stored) from None
    except records.RecordRefused as err:
        raise LabEditRefused(_field_errors(err)) from None
    egfr = result.derived.get("egfr")
    return LabEdit(
        lab_id,
        result.cells["patient_id"],
        result.entity_id,
        float(result.before["value"]),
        float(result.cells["value"]),
        None if egfr is None else float(egfr),
        result.derived.get("egfr_equation") if egfr is not None else None,
    )


def _stored_value(engine: Engine, lab_id: int) -> float:
    with engine.connect() as conn:
        return float(conn.execute(select(Lab.value).where(Lab.id == lab_id)).scalar_one())


def _field_errors(err: records.RecordRefused) -> list[FieldError]:
    """The registry's refusal as form errors, each on the field the form shows."""
    out = []
    for issue in err.errors:
        field = "reason" if issue.column in (None, "reason") else "value"
        message = f"{field}: {issue.reason}"
        out.append(FieldError(field=field, message=message, value=json_safe(issue.value)))
    return out
