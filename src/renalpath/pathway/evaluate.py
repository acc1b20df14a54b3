"""Fire the rules of the chosen packs on one case and assemble the result.

Per rule: `scope` decides whether the rule is about this kind of case at all (false → silent;
unknown → the routing input is listed as missing); `when` and each emit's own `when` decide
what it says.  Unknown there gives a `blocked_missing_input` verdict naming the inputs, with
the status it *would* give, so the merge can tell whether the missing input matters.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from renalpath.pathway.case import Case
from renalpath.pathway.conditions import Env
from renalpath.pathway.derive import Derived, derive
from renalpath.pathway.followup import followup_plan
from renalpath.pathway.loader import EVAL_ORDER, PACK_ORDER, Pack, PackSet, Rule
from renalpath.pathway.merge import Key, merge_all, unique
from renalpath.pathway.result import Contribution, RecommendResult

State = tuple[bool | None, tuple[str, ...]]


def _run_rule(
    rule: Rule,
    env: Env,
    grouped: dict[Key, list[Contribution]],
    missing: list[str],
    flags: list[str],
    notes: list[dict[str, str]],
    target: str | None,
) -> State:
    """Evaluate one rule (for one metastasis if target is set); return its fired state.

    Fired = at least one verdict emitted (or, for a definition rule without emits, its
    `when` holds); unknown = blocked on missing input (with those inputs); else false.
    """
    miss: list[str] = []
    s = rule.scope(env, miss)
    if s is False:
        return False, ()
    if s is None:
        missing.extend(miss)
        return None, tuple(miss)
    wmiss: list[str] = []
    w = rule.when(env, wmiss)
    if w is False:
        return False, ()
    spec = rule.spec
    state: bool | None = w if not rule.emits else False
    state_missing: list[str] = [] if w else list(wmiss)
    for emit in rule.emits:
        emiss: list[str] = []
        e = emit.when(env, emiss)
        if e is False:
            continue
        es = emit.spec
        if w is True and e is True:
            status, would_be, miss_e = es.status, None, tuple(es.missing)
            flags.extend(es.case_flags)
        else:
            if es.annotate:
                continue
            status, would_be, miss_e = "blocked_missing_input", es.status, tuple(wmiss + emiss)
        if status == "blocked_missing_input":
            missing.extend(miss_e)
            if state is not True:
                state = None
                state_missing.extend(miss_e)
        else:
            state = True
        key: Key = (es.option, es.modality, target)
        grouped.setdefault(key, []).append(
            Contribution(
                rule_id=spec.id,
                pack=rule.pack,
                status=status,
                strength=emit.strength,
                why=emit.why,
                verification=spec.verification,
                sources=rule.sources,
                flags=tuple(es.flags),
                counselling=tuple(es.counselling),
                missing=miss_e,
                would_be=would_be,
                annotate=es.annotate,
                needs_verification=rule.needs_verification,
            )
        )
    if w is True:
        flags.extend(spec.case_flags)
        notes.extend({"rule_id": spec.id, "text": t} for t in spec.notes)
    elif w is None and (not rule.emits or state is None):
        # Ask for the input only if it could change what this rule says.
        missing.extend(wmiss)
    return state, tuple(unique(state_missing)) if state is None else ()


def _run_pack(
    pack: Pack,
    env: Env,
    grouped: dict[Key, list[Contribution]],
    missing: list[str],
    flags: list[str],
    notes: list[dict[str, str]],
) -> None:
    values = env.values
    for rule in pack.rules:
        state: State
        if rule.gate is not None and values.get(rule.gate) is False:
            env.fired[rule.spec.id] = (False, ())
            continue
        if rule.spec.for_each is None:
            state = _run_rule(rule, env, grouped, missing, flags, notes, None)
        elif env.items is None:
            # A rule about metastases on a case that does not say whether there are any.
            if rule.scope(env, []) is not False:
                missing.append("metastases")
                state = (None, ("metastases",))
            else:
                state = (False, ())
        else:
            fired: bool | None = False
            fmiss: list[str] = []
            for i, item in enumerate(env.items):
                env.item, env.item_index = item, i
                r, m = _run_rule(rule, env, grouped, missing, flags, notes, f"metastases[{i}]")
                if r is True:
                    fired = True
                elif r is None and fired is not True:
                    fired = None
                    fmiss.extend(m)
            env.item, env.item_index = None, -1
            state = (fired, tuple(fmiss) if fired is None else ())
        env.fired[rule.spec.id] = state


def _engine_flags(d: Derived, case: Case) -> list[str]:
    """clinical-spec §0.4 rule 4 holds whatever packs are chosen: these cases go to the MDT."""
    v = d.values
    kidney = case.kidney
    hereditary = kidney is not None and kidney.hereditary_syndrome in ("suspected", "confirmed")
    if (
        v.get("derived.metastatic")
        or v.get("derived.route_salvage")
        or hereditary
        or v.get("derived.ct") in ("T3b", "T3c", "T4")
    ):
        return ["mdt_required"]
    return []


def evaluate(
    case: Case, packset: PackSet, pack_ids: tuple[str, ...], today: dt.date | None = None
) -> RecommendResult:
    d = derive(case, today)
    env = Env(d.values, d.missing, {}, d.items)
    grouped: dict[Key, list[Contribution]] = {}
    missing: list[str] = []
    flags: list[str] = list(d.flags)
    notes: list[dict[str, str]] = [{"rule_id": "derive", "text": n} for n in d.notes]
    active = [p for p in EVAL_ORDER if p in pack_ids]
    for pid in active:
        _run_pack(packset.packs[pid], env, grouped, missing, flags, notes)

    conflicts: list[dict[str, Any]] = []
    all_contribs = [c for cs in grouped.values() for c in cs]
    for conflict in packset.conflicts:
        spec = conflict.spec
        if not all(p in pack_ids for p in spec.packs):
            continue
        hit = [c for c in all_contribs if c.rule_id in spec.rules and not c.annotate]
        if spec.rules and not hit:
            continue
        if conflict.when(env, []) is not True:
            continue
        conflicts.append({"id": spec.id, "packs": list(spec.packs), "note": spec.note})
        if spec.set_status is None:
            continue
        for key, cs in grouped.items():
            kept = []
            for c in cs:
                if c in hit:
                    if c.status == "blocked_missing_input":
                        continue  # the deciding pack rules; this rule no longer blocks
                    c.status = spec.set_status
                    c.conflict_note = f"{spec.id}: {spec.note}"
                kept.append(c)
            grouped[key] = kept

    options = merge_all(grouped)
    fired = [rid for rid, (st, _m) in env.fired.items() if st is True]
    flags.extend(_engine_flags(d, case))
    followup = followup_plan(case, d) if case.pathology is not None else None
    return RecommendResult(
        derived=d.output,
        options=options,
        missing_inputs=sorted(unique(missing)),
        flags=unique(flags),
        conflicts=conflicts,
        followup=followup,
        packs=[
            {"id": pid, "version": packset.packs[pid].version}
            for pid in PACK_ORDER
            if pid in pack_ids
        ],
        notes=notes,
        rules_fired=fired,
    )
