"""The result of `recommend` — design §3 output shape, plus a few documented extensions.

Extensions beyond design §3 (allowed: "extend freely, rename nothing"): each option carries
`target` (which metastasis it is about, or null), `counselling` (facts to discuss with the
patient), `missing` (for blocked options) and `contributions` (every rule's own verdict, so
a merged status can always be traced); the result carries `notes` (source statements that
are not options, and calculator notes) and `rules_fired` (audit trail).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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


@dataclass(slots=True)
class OptionRecord:
    option: str
    modality: str | None
    target: str | None
    status: str
    strength: str
    rule_ids: list[str]
    pack: str
    why: str
    flags: list[str]
    verification: str
    sources: list[dict[str, str]]
    counselling: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    contributions: list[Contribution] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "option": self.option,
            "modality": self.modality,
            "target": self.target,
            "status": self.status,
            "strength": self.strength,
            "rule_ids": list(self.rule_ids),
            "pack": self.pack,
            "why": self.why,
            "flags": list(self.flags),
            "verification": self.verification,
            "sources": [dict(s) for s in self.sources],
            "counselling": list(self.counselling),
            "missing": list(self.missing),
            "contributions": [c.to_dict() for c in self.contributions],
        }


@dataclass
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
