"""Choice groups: options that exclude each other for one target keep one `recommended`.

Why: packs merge option by option, so two packs (or two rules of one pack) can each
recommend a different operation for the same tumour — partial nephrectomy and surveillance,
metastasectomy and stabilisation of one lesion.  A tumour board needs one first choice and
the others as alternatives, with a note saying which sources disagreed and which decided.
The groups, their order of precedence and the option aliases are data
(packs/_choice_groups.yaml); see that file for how the option that stays is chosen.
"""

from __future__ import annotations

import functools
from typing import Any

from renalpath.pathway.loader import Groups, GroupSpec
from renalpath.pathway.merge import Key
from renalpath.pathway.result import Contribution, OptionRecord
from renalpath.pathway.vocabulary import LEVEL, STRONG, TIER_OF


def fold_aliases(grouped: dict[Key, list[Contribution]], groups: Groups) -> None:
    """Merge the verdicts of two codes for one operation under the second code (in place)."""
    for alias, code in groups.same_as.items():
        for key in [k for k in grouped if k[0] == alias]:
            target_key = (code, key[1], key[2])
            if target_key in grouped:
                grouped[target_key] = [*grouped[target_key], *grouped.pop(key)]


def _rank(
    r: OptionRecord, *, group: GroupSpec, members: dict[str, int], order: tuple[str, ...]
) -> tuple[int, int, int, int, int]:
    """Sort key: the record that stays `recommended` sorts first (see the groups file)."""
    said = [
        c.rule_id
        for c in r.contributions
        if not c.annotate
        and (c.status == "recommended" or c.would_be == "recommended")  # or settled from blocked
    ]
    specific = min(
        (group.specific.index(x) for x in said if x in group.specific),
        default=len(group.specific),
    )
    pack = order.index(r.pack) if r.pack in order else len(order)
    return (
        specific,
        TIER_OF.get(r.strength, 9),
        0 if r.strength in STRONG else 1,
        pack,
        members[r.option],
    )


def _target_name(target: str | None) -> str:
    return "the primary tumour" if target is None else target


def apply_groups(
    records: list[OptionRecord], groups: Groups, precedence: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Keep one `recommended` per group and target; return a conflict note for each choice."""
    conflicts: list[dict[str, Any]] = []
    recommended = [r for r in records if r.status == "recommended"]
    if len(recommended) < 2 and not groups.follows:
        return conflicts
    for group, members in zip(groups.groups, groups.members, strict=True):
        if len(recommended) < 2:
            break
        by_target: dict[str | None, list[OptionRecord]] = {}
        for r in recommended:
            # Groups may share options: an earlier group may have demoted this one already.
            if r.option in members and r.status == "recommended":
                by_target.setdefault(r.target, []).append(r)
        for target, rec in by_target.items():
            if len(rec) < 2:
                continue

            rec.sort(key=functools.partial(_rank, group=group, members=members, order=precedence))
            kept, others = rec[0], rec[1:]
            for r in others:
                r.status = "alternative"
                r.why = (
                    f"{r.why} (alternative: {kept.option.replace('_', ' ')} is the first choice)"
                )
                if "choice_group_alternative" not in r.flags:
                    r.flags.append("choice_group_alternative")
            names = ", ".join(o.option.replace("_", " ") for o in others)
            packs = sorted({p for r in rec for p in (r.pack,)})
            conflicts.append(
                {
                    "id": f"choice:{group.id}",
                    "packs": packs,
                    "note": (
                        f"{group.title}: {kept.option.replace('_', ' ')} "
                        f"({', '.join(kept.rule_ids)}) and {names} exclude each other for "
                        f"{_target_name(target)}; {kept.option.replace('_', ' ')} decides as "
                        "the more specific or higher-graded statement, the others are shown "
                        "as alternatives."
                    ),
                }
            )
    options = {r.option for r in records}
    for option, prepares in groups.follows.items():
        if option not in options:
            continue
        for r in records:
            if r.option != option or r.status not in LEVEL:
                continue
            main = next((m for m in records if m.option == prepares and m.target == r.target), None)
            if main is None or main.status not in LEVEL:
                continue
            if LEVEL[r.status] < LEVEL[main.status]:
                r.status = main.status
                r.why = (
                    f"{r.why} (only as far as the {prepares.replace('_', ' ')} it prepares: "
                    f"{main.status.replace('_', ' ')})"
                )
    return conflicts
