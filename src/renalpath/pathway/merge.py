"""Merge every rule's verdict on an option into one status (clinical-spec §0.4 and §6).

Order of precedence, per option (and modality and target):
1. A rule that could not decide for lack of input (`blocked_missing_input`) wins — unless
   every such rule would, once the input exists, give exactly the status already decided by
   the others (asking for an input that cannot change the answer helps nobody; the input is
   still listed in `missing_inputs`).  [P, refinement of §0.4 rule 1; reported]
2. A `not_recommended` with a Strong grade beats any positive status from another source.
3. The strongest tier present decides: graded guideline statements (EAU/AUA), then
   literature and project defaults, then descriptive founding statements (Oncolex 2018).
   Within the deciding tier a `not_recommended` wins (the safe side), otherwise the most
   positive status wins.
4. Options are listed recommended > alternative > discuss > not_recommended (blocked first,
   because they need action), then in the order rules emitted them.
Conflict-register entries (§6) are applied before merging: they re-state the status of the
listed rules' contributions (e.g. Oncolex ONX-02 → `discuss` when the EAU pack is active).
"""

from __future__ import annotations

from collections.abc import Iterable

from renalpath.pathway.result import Contribution, OptionRecord
from renalpath.pathway.vocabulary import POSITIVE_RANK, STATUS_RANK, is_strong, tier

Key = tuple[str, str | None, str | None]  # option, modality, target


def _decide(decided: list[Contribution]) -> tuple[str, Contribution] | None:
    if not decided:
        return None
    for c in decided:
        if c.status == "not_recommended" and is_strong(c.strength):
            return c.status, c
    top = min(tier(c.strength) for c in decided)
    pool = [c for c in decided if tier(c.strength) == top]
    for c in pool:
        if c.status == "not_recommended":
            return c.status, c
    best = min(pool, key=lambda c: POSITIVE_RANK.get(c.status, 9))
    return best.status, best


def merge_option(key: Key, contribs: list[Contribution]) -> OptionRecord | None:
    """One option record, or None when only annotations (no verdict) exist for this option."""
    verdicts = [c for c in contribs if not c.annotate]
    if not verdicts:
        return None
    decided = [c for c in verdicts if c.status != "blocked_missing_input"]
    blocked = [c for c in verdicts if c.status == "blocked_missing_input"]
    decision = _decide(decided)
    missing: list[str] = []
    for c in blocked:
        missing.extend(m for m in c.missing if m not in missing)
    if blocked and (decision is None or any(b.would_be != decision[0] for b in blocked)):
        status, lead = "blocked_missing_input", blocked[0]
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
        flags.extend(f for f in c.flags if f not in flags)
        counselling.extend(t for t in c.counselling if t not in counselling)
        if c.needs_verification and "needs_verification" not in flags and c is lead:
            flags.append("needs_verification")
    why = lead.why
    if status == "blocked_missing_input":
        why = f"{lead.why} — cannot decide without: {', '.join(missing)}"
    option, modality, target = key
    return OptionRecord(
        option=option,
        modality=modality,
        target=target,
        status=status,
        strength=lead.strength,
        rule_ids=rule_ids,
        pack=lead.pack,
        why=why,
        flags=flags,
        verification=lead.verification,
        sources=list(lead.sources),
        counselling=counselling,
        missing=missing,
        contributions=verdicts,
    )


def merge_all(grouped: dict[Key, list[Contribution]]) -> list[OptionRecord]:
    records = [r for key, cs in grouped.items() if (r := merge_option(key, cs)) is not None]
    order = {id(r): i for i, r in enumerate(records)}
    records.sort(key=lambda r: (STATUS_RANK[r.status], order[id(r)]))
    return records


def unique(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for i in items:
        if i not in out:
            out.append(i)
    return out
