"""Saved tumour-board cases: a patient's case as prepared, presented and decided.

A board case is the pathway input (the same nested shape the case form and `recommend`
use) plus where each fact came from (`provenance`: registry record and its date, or "entered"),
the clinical question, the board date, and — once decided — the board's decision in words,
the option it chose and the decision date. It is kept so a decision can be compared with the
pathway later and so the case survives a closed browser tab.

Life cycle: draft → presented → decided. The case data may change until a decision is
recorded; a decided case is closed (a new case is opened for a new question). Every write is
in the hash-chained audit trail: the insert as the whole record, each update one row per
changed field with its reason, exactly as registry records are audited.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Date, Engine, ForeignKey, Integer, String, Text, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from renalpath.registry import audit
from renalpath.registry.models import Base

STATUSES = ("draft", "presented", "decided")
STATUS_LABELS = {
    "draft": "Draft",
    "presented": "Presented at board",
    "decided": "Decision recorded",
}
ENTITY = "board_cases"
MAX_TEXT = 4000


class BoardCase(Base):
    __tablename__ = "board_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.patient_id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    board_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    question: Mapped[str | None] = mapped_column(Text)
    case_json: Mapped[str] = mapped_column(Text)
    provenance_json: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[str | None] = mapped_column(Text)
    decision_option: Mapped[str | None] = mapped_column(String(60))
    decision_date: Mapped[dt.date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[str] = mapped_column(String(40))
    updated_at: Mapped[str] = mapped_column(String(40))


class BoardCaseNotFound(LookupError):
    """No saved case with that id."""


class BoardCaseRefused(ValueError):
    """The change is not allowed (wrong status, missing decision); nothing was written.

    `field` names the form field the refusal belongs to, so the page can mark it.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class SavedCase:
    id: int
    patient_id: str
    status: str
    board_date: dt.date | None
    question: str | None
    case: dict[str, Any]
    provenance: dict[str, Any]
    decision: str | None
    decision_option: str | None
    decision_date: dt.date | None
    created_by: str
    created_at: str
    updated_at: str

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


def _saved(row: Any) -> SavedCase:
    return SavedCase(
        id=int(row["id"]),
        patient_id=str(row["patient_id"]),
        status=str(row["status"]),
        board_date=row["board_date"],
        question=row["question"],
        case=json.loads(row["case_json"] or "{}"),
        provenance=json.loads(row["provenance_json"] or "{}"),
        decision=row["decision"],
        decision_option=row["decision_option"],
        decision_date=row["decision_date"],
        created_by=str(row["created_by"]),
        created_at=str(row["created_at"]),
        updated_at=str(row["updated_at"]),
    )


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def _text(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise BoardCaseRefused(f"at most {MAX_TEXT} characters", name)
    return value or None


def _audit_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return value if isinstance(value, str) else _dump(value)


def create_case(
    engine: Engine,
    patient_id: str,
    case: Mapping[str, Any],
    provenance: Mapping[str, Any],
    actor: str,
    *,
    question: str | None = None,
    board_date: dt.date | None = None,
) -> int:
    """Save a new draft; the insert and its audit row commit together."""
    now = audit.now_utc()
    values = {
        "patient_id": patient_id,
        "status": "draft",
        "board_date": board_date,
        "question": _text(question, "question"),
        "case_json": _dump(case),
        "provenance_json": _dump(provenance),
        "created_by": actor,
        "created_at": now,
        "updated_at": now,
    }
    with engine.begin() as conn:
        new_id = conn.execute(insert(BoardCase).values(**values).returning(BoardCase.id))
        case_id = int(new_id.scalar_one())
        record = {k: _audit_value(v) for k, v in values.items()}
        audit.append(
            conn,
            [audit.Change("insert", ENTITY, str(case_id), None, None, _dump(record))],
            actor,
            "board case saved",
        )
    return case_id


def get_case(engine: Engine, case_id: int) -> SavedCase:
    with engine.connect() as conn:
        row = conn.execute(select(BoardCase.__table__).where(BoardCase.id == case_id))
        found = row.mappings().first()
    if found is None:
        raise BoardCaseNotFound(f"no saved case {case_id}")
    return _saved(found)


_COLUMNS = {
    "case": "case_json",
    "provenance": "provenance_json",
    "question": "question",
    "board_date": "board_date",
    "status": "status",
    "decision": "decision",
    "decision_option": "decision_option",
    "decision_date": "decision_date",
}


def update_case(
    engine: Engine, case_id: int, changes: Mapping[str, Any], actor: str, reason: str
) -> SavedCase:
    """Change a saved case; one audit row per changed field, all with `reason`.

    Refused: any change to a decided case, a status that goes backwards, a decision without
    its text and date, a decision date in the future.
    """
    with engine.begin() as conn:
        row = (
            conn.execute(
                select(BoardCase.__table__).where(BoardCase.id == case_id).with_for_update()
            )
            .mappings()
            .first()
        )
        if row is None:
            raise BoardCaseNotFound(f"no saved case {case_id}")
        current = _saved(row)
        if current.status == "decided":
            raise BoardCaseRefused("the board's decision is recorded: this case is closed")
        old: dict[str, Any] = {key: getattr(current, key) for key in _COLUMNS}
        new = dict(old)
        for key, value in changes.items():
            if key not in _COLUMNS:
                raise KeyError(key)
            new[key] = _text(value, key) if key in ("question", "decision") else value
        status = str(new["status"])
        if status not in STATUSES:
            raise BoardCaseRefused(f"status must be one of {', '.join(STATUSES)}", "status")
        if STATUSES.index(status) < STATUSES.index(current.status):
            raise BoardCaseRefused("a case cannot go back to an earlier status", "status")
        if status == "decided":
            if not new["decision"]:
                raise BoardCaseRefused("write the board's decision", "decision")
            if new["decision_date"] is None:
                raise BoardCaseRefused("give the date of the decision", "decision_date")
            decided_on = new["decision_date"]
            if isinstance(decided_on, dt.date) and decided_on > dt.date.today():
                raise BoardCaseRefused("the decision date cannot be in the future", "decision_date")
        diffs = [k for k in _COLUMNS if _audit_value(old[k]) != _audit_value(new[k])]
        if not diffs:
            return current
        stored = {
            _COLUMNS[k]: (_dump(new[k]) if k in ("case", "provenance") else new[k]) for k in diffs
        }
        stored["updated_at"] = audit.now_utc()
        conn.execute(update(BoardCase).where(BoardCase.id == case_id).values(**stored))
        audit.append(
            conn,
            [
                audit.Change(
                    "update",
                    ENTITY,
                    str(case_id),
                    _COLUMNS[k],
                    _audit_value(old[k]),
                    _audit_value(new[k]),
                )
                for k in diffs
            ],
            actor,
            reason,
        )
        fresh = (
            conn.execute(select(BoardCase.__table__).where(BoardCase.id == case_id))
            .mappings()
            .one()
        )
    return _saved(fresh)


def list_cases(
    engine: Engine,
    *,
    patient_id: str | None = None,
    board_date: dt.date | None = None,
    open_only: bool = False,
    limit: int = 200,
) -> list[SavedCase]:
    """Saved cases, newest board date first (cases without a date last)."""
    stmt = select(BoardCase.__table__)
    if patient_id is not None:
        stmt = stmt.where(BoardCase.patient_id == patient_id)
    if board_date is not None:
        stmt = stmt.where(BoardCase.board_date == board_date)
    if open_only:
        stmt = stmt.where(BoardCase.status != "decided")
    stmt = stmt.order_by(BoardCase.board_date.desc().nulls_last(), BoardCase.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [_saved(r) for r in conn.execute(stmt).mappings()]


def decided_cases(
    engine: Engine,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    limit: int = 10_000,
) -> list[SavedCase]:
    """Decided cases whose decision date lies in [start, end], oldest decision first."""
    stmt = select(BoardCase.__table__).where(BoardCase.status == "decided")
    if start is not None:
        stmt = stmt.where(BoardCase.decision_date >= start)
    if end is not None:
        stmt = stmt.where(BoardCase.decision_date <= end)
    stmt = stmt.order_by(BoardCase.decision_date, BoardCase.id).limit(limit)
    with engine.connect() as conn:
        return [_saved(r) for r in conn.execute(stmt).mappings()]


def board_dates(engine: Engine, today: dt.date, limit: int = 20) -> list[dt.date]:
    """Board dates from today on, soonest first (the first one is the next board)."""
    stmt = (
        select(BoardCase.board_date)
        .where(BoardCase.board_date >= today)
        .group_by(BoardCase.board_date)
        .order_by(BoardCase.board_date)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [d for (d,) in conn.execute(stmt) if d is not None]
