"""Correcting one lab value: validated like an import, audited with old → new and the reason.

The derived eGFR of the row is recomputed by the registry's own `compute_egfr`, with the
equation the row was stored with (or the registry default), so the page, the studies and an
export agree after the correction.

The row is read under the registry's write lock (`registry.db.lock_for_write`), so the old
value in the audit trail is the value actually replaced. A form may also send the value its
user saw (`seen`): if the stored value changed since (another correction, an import), the
correction is refused as a conflict instead of silently overwriting a change its author never
saw. With `patient_id` the lab must belong to that patient — checked before anything is
written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, select, update

from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.units import creatinine_to_mg_dl
from renalpath.errors import Conflict, NotFound, Refusal
from renalpath.registry import audit
from renalpath.registry.cells import format_number
from renalpath.registry.db import lock_for_write
from renalpath.registry.derived import DEFAULT_EQUATION, compute_egfr
from renalpath.registry.models import Lab, Patient
from renalpath.web.errors import FieldError, from_problems, json_safe


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
        raise LabEditRefused([FieldError(field="value", message="value: a number is required",
                                         value=json_safe(raw))])  # fmt: skip
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
    """Validate, update the value and its eGFR, and audit — all in one transaction.

    LabNotFound if the lab does not exist or (with `patient_id`) belongs to another patient;
    LabConflict if `seen` is given and differs from the stored value."""
    errors: list[FieldError] = []
    value: float | None = None
    try:
        value = parse_value(raw_value)
    except LabEditRefused as err:
        errors += err.errors
    reason = (reason or "").strip()
    if not reason:
        errors.append(FieldError(field="reason", message="reason: a reason is required"))
    expected: float | None = None
    if seen is not None and seen != "":
        try:
            expected = parse_value(seen)
        except LabEditRefused:
            errors.append(FieldError(field="seen", message="seen: not a number",
                                     value=json_safe(seen)))  # fmt: skip
    with engine.begin() as conn:
        lock_for_write(conn)
        row = conn.execute(select(Lab.__table__).where(Lab.id == lab_id)).mappings().first()
        if row is None:
            raise LabNotFound(f"no lab with id {lab_id}")
        if patient_id is not None and row["patient_id"] != patient_id:
            raise LabNotFound(f"lab {lab_id} does not belong to patient {patient_id!r}")
        if expected is not None and float(row["value"]) != expected:
            raise LabConflict(
                f"lab {lab_id} was changed to {format_number(float(row['value']))} since you "
                f"saw {format_number(expected)}; nothing was saved — check the new value",
                float(row["value"]),
            )
        if value is not None and row["test"] == "creatinine":
            try:  # same plausibility rule as the importer (registry.validate._check_creatinine)
                creatinine_to_mg_dl(value, str(row["unit"]), field="value")
            except ClinicalInputError as err:
                errors += from_problems(err.problems)
        if errors or value is None:
            raise LabEditRefused(errors)
        pat = (
            conn.execute(
                select(
                    Patient.patient_id, Patient.sex, Patient.birth_date, Patient.black_race
                ).where(Patient.patient_id == row["patient_id"])
            )
            .mappings()
            .one()
        )
        labs = pd.DataFrame(
            [{"patient_id": row["patient_id"], "date": pd.Timestamp(row["date"]),
              "test": row["test"], "value": value, "unit": row["unit"]}]
        )  # fmt: skip
        pats = pd.DataFrame([dict(pat)]).set_index("patient_id", drop=False)
        pats["birth_date"] = pd.to_datetime(pats["birth_date"])
        equation = row["egfr_equation"] or DEFAULT_EQUATION
        egfr_s, eq_s = compute_egfr(labs, pats, equation)
        egfr = None if pd.isna(egfr_s.iloc[0]) else float(egfr_s.iloc[0])
        eq = None if egfr is None else str(eq_s.iloc[0])
        conn.execute(
            update(Lab).where(Lab.id == lab_id).values(value=value, egfr=egfr, egfr_equation=eq)
        )
        entity_id = f"{row['patient_id']}|{row['date'].isoformat()}|{row['test']}"
        old = float(row["value"])
        if old != value:
            audit.append(
                conn,
                [audit.Change("update", "labs", entity_id, "value",
                              format_number(old), format_number(value))],
                actor,
                reason,
            )  # fmt: skip
    return LabEdit(lab_id, row["patient_id"], entity_id, old, value, egfr, eq)
