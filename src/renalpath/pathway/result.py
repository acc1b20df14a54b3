"""The result of `recommend` — the documented output shape, plus a few extensions.

Extensions beyond the original shape (fields are added, never renamed): each option carries
`target` (which metastasis it is about, or null), `counselling` (facts to discuss with the
patient), `missing` (for blocked options) and `contributions` (every rule's own verdict, so
a merged status can always be traced); the result carries `notes` (source statements that
are not options, and calculator notes) and `rules_fired` (audit trail).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload


@dataclass(slots=True, frozen=True, eq=False)
class Contribution:
    """One rule's verdict on one option, before merging.

    Frozen and compared by identity: the engine builds each distinct verdict once and every
    result shares it (pathway/plan.py), and merges are remembered by their verdicts.
    """

    rule_id: str
    pack: str
    status: str
    strength: str
    why: str
    verification: str
    sources: tuple[dict[str, str], ...]
    flags: tuple[str, ...] = ()
    counselling: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    would_be: str | None = None  # for blocked: the status it would give once inputs exist
    annotate: bool = False
    needs_verification: bool = False
    conflict_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule_id": self.rule_id,
            "pack": self.pack,
            "status": self.status,
            "strength": self.strength,
            "why": self.why,
        }
        if self.would_be:
            out["would_be"] = self.would_be
        if self.missing:
            out["missing"] = list(self.missing)
        if self.conflict_note:
            out["conflict"] = self.conflict_note
        return out


_T = TypeVar("_T")


class _ListField(Generic[_T]):
    """A list attribute that may be stored as a shared tuple and becomes a list when read.

    Why: a batch keeps every result, and Python's cyclic collector visits every list each
    result holds (a merged option had six); the option's tuples are the merge's own, built
    once and shared (merge.py), so a record only turns one into its own list when someone
    reads that attribute.  Reading gives the same list every time, so appending to it sticks,
    exactly as with a plain list field.
    """

    __slots__ = ("slot",)

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _ListField[_T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> list[_T]: ...
    def __get__(self, obj: object, owner: type | None = None) -> list[_T] | _ListField[_T]:
        if obj is None:
            return self
        value = getattr(obj, self.slot)
        if type(value) is not list:
            value = list(value)
            setattr(obj, self.slot, value)
        return value

    def __set__(self, obj: object, value: Sequence[_T]) -> None:
        setattr(obj, self.slot, value)


class OptionRecord:
    """One merged option.  Behaves as a dataclass with list fields (same constructor, fields,
    equality and repr); the list fields accept any sequence and read as lists (`_ListField`).
    """

    __slots__ = (
        "_contributions",
        "_counselling",
        "_flags",
        "_missing",
        "_rule_ids",
        "_sources",
        "modality",
        "option",
        "pack",
        "status",
        "strength",
        "target",
        "verification",
        "why",
    )
    __match_args__ = (
        "option",
        "modality",
        "target",
        "status",
        "strength",
        "rule_ids",
        "pack",
        "why",
        "flags",
        "verification",
        "sources",
        "counselling",
        "missing",
        "contributions",
    )
    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value (as a dataclass)

    rule_ids: _ListField[str] = _ListField()
    flags: _ListField[str] = _ListField()
    sources: _ListField[dict[str, str]] = _ListField()
    counselling: _ListField[str] = _ListField()
    missing: _ListField[str] = _ListField()
    contributions: _ListField[Contribution] = _ListField()

    def __init__(
        self,
        option: str,
        modality: str | None,
        target: str | None,
        status: str,
        strength: str,
        rule_ids: Sequence[str],
        pack: str,
        why: str,
        flags: Sequence[str],
        verification: str,
        sources: Sequence[dict[str, str]],
        counselling: Sequence[str] = (),
        missing: Sequence[str] = (),
        contributions: Sequence[Contribution] = (),
    ) -> None:
        self.option = option
        self.modality = modality
        self.target = target
        self.status = status
        self.strength = strength
        self._rule_ids = rule_ids
        self.pack = pack
        self.why = why
        self._flags = flags
        self.verification = verification
        self._sources = sources
        self._counselling = counselling
        self._missing = missing
        self._contributions = contributions

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__match_args__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, OptionRecord)
        return self._fields() == other._fields()

    def __repr__(self) -> str:
        pairs = zip(self.__match_args__, self._fields(), strict=True)
        body = ", ".join(f"{n}={v!r}" for n, v in pairs)
        return f"OptionRecord({body})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "option": self.option,
            "modality": self.modality,
            "target": self.target,
            "status": self.status,
            "strength": self.strength,
            "rule_ids": list(self._rule_ids),
            "pack": self.pack,
            "why": self.why,
            "flags": list(self._flags),
            "verification": self.verification,
            "sources": [dict(s) for s in self._sources],
            "counselling": list(self._counselling),
            "missing": list(self._missing),
            "contributions": [c.to_dict() for c in self._contributions],
        }


@dataclass(slots=True)
class RecommendResult:
    derived: dict[str, Any]
    options: list[OptionRecord]
    missing_inputs: list[str]
    flags: list[str]
    conflicts: list[dict[str, Any]]
    followup: dict[str, Any] | None
    packs: list[dict[str, str]]
    notes: list[dict[str, str]] = field(default_factory=list)
    rules_fired: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "derived": dict(self.derived),
            "options": [o.to_dict() for o in self.options],
            "missing_inputs": list(self.missing_inputs),
            "flags": list(self.flags),
            "conflicts": [dict(c) for c in self.conflicts],
            "followup": self.followup,
            "packs": [dict(p) for p in self.packs],
            "notes": [dict(n) for n in self.notes],
            "rules_fired": list(self.rules_fired),
        }

    def option(self, code: str, target: str | None = None) -> OptionRecord | None:
        """The first record for an option code (any modality), for callers and tests."""
        for o in self.options:
            if o.option == code and (target is None or o.target == target):
                return o
        return None

    def status_of(self, code: str) -> str | None:
        rec = self.option(code)
        return rec.status if rec else None
