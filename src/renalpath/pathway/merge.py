"""Merge every rule's verdict on an option into one status.

Order of precedence, per option (and modality and target):
1. A rule that could not decide for lack of input (`blocked_missing_input`) wins — unless
   every such rule would, once the input exists, give exactly the status already decided by
   the others (asking for an input that cannot change the answer helps nobody).  Whether a
   missing input is decisive for the whole result (gates and choice groups included) is
   settled afterwards by settle.py.  [P]
2. A `not_recommended` with a Strong grade beats any positive status from another source.
3. The strongest tier present decides: graded guideline statements (EAU/AUA), then
   literature and project defaults, then descriptive founding statements (Oncolex 2018).
   Within the deciding tier a `not_recommended` wins (the safe side), otherwise the most
   positive status wins.
4. Options are listed recommended > alternative > discuss > not_recommended, then blocked,
   then in the order rules emitted them.
Conflict-register entries are applied before merging: they re-state the status of the
listed rules' contributions (e.g. Oncolex ONX-02 → `discuss` when the EAU pack is active).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from renalpath.pathway.result import Contribution, OptionRecord
from renalpath.pathway.vocabulary import POSITIVE_RANK, STATUS_RANK, STRONG, TIER_OF

Key = tuple[str, str | None, str | None]  # option, modality, target
BLOCKED = "blocked_missing_input"


def _decide(decided: list[Contribution]) -> tuple[str, Contribution] | None:
    if not decided:
        return None
    if len(decided) == 1:
        return decided[0].status, decided[0]
    for c in decided:
        if c.status == "not_recommended" and c.strength in STRONG:
            return c.status, c
    top = min(TIER_OF[c.strength] for c in decided)
    pool = [c for c in decided if TIER_OF[c.strength] == top]
    for c in pool:
        if c.status == "not_recommended":
            return c.status, c
    best = min(pool, key=lambda c: POSITIVE_RANK.get(c.status, 9))
    return best.status, best


@dataclass(frozen=True, slots=True)
class _Merged:
    """A merged option without its place (option, modality, target): what the rules said."""

    status: str
    strength: str
    rule_ids: tuple[str, ...]
    pack: str
    why: str
    flags: tuple[str, ...]
    verification: str
    sources: tuple[dict[str, str], ...]
    counselling: tuple[str, ...]
    missing: tuple[str, ...]
    verdicts: tuple[Contribution, ...]


def _merge(contribs: tuple[Contribution, ...]) -> _Merged | None:
    """Merge one option's verdicts; None when only annotations (no verdict) exist for it."""
    verdicts = tuple(c for c in contribs if not c.annotate)
    if not verdicts:
        return None
    decided: list[Contribution] = []
    blocked: list[Contribution] = []
    for c in verdicts:
        (blocked if c.status == BLOCKED else decided).append(c)
    decision = _decide(decided)
    missing: list[str] = []
    for c in blocked:
        extend_unique(missing, c.missing)
    if blocked and (decision is None or any(b.would_be != decision[0] for b in blocked)):
        status, lead = BLOCKED, blocked[0]
    else:
        assert decision is not None
        status, lead = decision
        missing = []
    flags: list[str] = []
    counselling: list[str] = []
    rule_ids: list[str] = []
    for c in contribs:
        if c.rule_id not in rule_ids:
            rule_ids.append(c.rule_id)
        if c.flags:
            extend_unique(flags, c.flags)
        if c.counselling:
            extend_unique(counselling, c.counselling)
        if c is lead and c.needs_verification and "needs_verification" not in flags:
            flags.append("needs_verification")
    why = lead.why
    if status == BLOCKED:
        why = f"{lead.why} — cannot decide without: {', '.join(missing)}"
    return _Merged(
        status,
        lead.strength,
        tuple(rule_ids),
        lead.pack,
        why,
        tuple(flags),
        lead.verification,
        lead.sources,
        tuple(counselling),
        tuple(missing),
        verdicts,
    )


# Merged outcomes by the exact verdicts of a group.  Verdicts are shared, immutable objects
# compared by identity (plan.py), and a registry repeats the same few hundred combinations,
# so most options are merged once per process.  The key holds its verdicts alive, so an
# identity is never reused for another verdict; the size is capped, not evicted.
_MERGED: dict[tuple[Contribution, ...], _Merged | None] = {}
_MERGED_LIMIT = 16384
_UNSEEN = object()


def merge_option(key: Key, contribs: list[Contribution]) -> OptionRecord | None:
    """One option record, or None when only annotations (no verdict) exist for this option."""
    group = tuple(contribs)
    merged = _MERGED.get(group, _UNSEEN)
    if merged is _UNSEEN:
        merged = _merge(group)
        if len(_MERGED) < _MERGED_LIMIT:
            _MERGED[group] = merged
    if merged is None:
        return None
    assert isinstance(merged, _Merged)
    option, modality, target = key
    return OptionRecord(  # positional, in field order (cheaper than keywords)
        option,
        modality,
        target,
        merged.status,
        merged.strength,
        merged.rule_ids,  # the merge's own tuples: a record lists one only when it is read
        merged.pack,
        merged.why,
        merged.flags,
        merged.verification,
        merged.sources,
        merged.counselling,
        merged.missing,
        merged.verdicts,
    )


def _rank(record: OptionRecord) -> int:
    return STATUS_RANK[record.status]


def merge_all(grouped: dict[Key, list[Contribution]]) -> list[OptionRecord]:
    records = [r for key, cs in grouped.items() if (r := merge_option(key, cs)) is not None]
    records.sort(key=_rank)  # stable: emit order within a status
    return records


def unique(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    extend_unique(out, items)
    return out


def extend_unique(out: list[str], items: Iterable[str]) -> None:
    """Append each item not in `out` yet, counting the ones this call adds.

    A loop, not `out.extend(x for x in items if x not in out)`: that generator sees the
    items it has added only because CPython runs it lazily, and mypyc (setup.py) turns it
    into a list first, which would keep duplicates.
    """
    for item in items:
        if item not in out:
            out.append(item)
