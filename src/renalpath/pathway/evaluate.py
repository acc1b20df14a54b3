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
from renalpath.pathway.conditions import Env, Tri
from renalpath.pathway.derive import Derived, derive
from renalpath.pathway.followup import followup_plan
from renalpath.pathway.loader import EVAL_ORDER, PACK_ORDER, Pack, PackSet, Rule
from renalpath.pathway.merge import Key, merge_all, unique
from renalpath.pathway.result import Contribution, RecommendResult

State = tuple[bool | None, tuple[str, ...]]
_NOT_FIRED: State = (False, ())


class _Collector:
    """What the rules of one case say, gathered while they fire (one per evaluation)."""

    __slots__ = ("by_rule", "flags", "grouped", "missing", "notes")

    def __init__(self, flags: list[str], notes: list[dict[str, str]]) -> None:
        self.grouped: dict[Key, list[Contribution]] = {}
        self.by_rule: dict[str, list[Contribution]] = {}  # for the conflict register
        self.missing: list[str] = []
        self.flags = flags
        self.notes = notes


def _run_rule(rule: Rule, env: Env, out: _Collector, target: str | None, s: Tri) -> State:
    """Evaluate one rule (for one metastasis if target is set); return its fired state.

    Fired = at least one verdict emitted (or, for a definition rule without emits, its
    `when` holds); unknown = blocked on missing input (with those inputs); else false.
    Missing inputs are worked out (`explain`) only for a condition that came out unknown.
    `s` is the rule's scope, already tested by the caller.
    """
    if s is False:
        return _NOT_FIRED
    if s is None:
        miss: list[str] = []
        rule.scope.explain(env, miss)
        out.missing.extend(miss)
        return None, tuple(miss)
    w = rule.when.test(env)
    if w is False:
        return _NOT_FIRED
    wmiss: list[str] = []
    if w is None:
        rule.when.explain(env, wmiss)
    spec = rule.spec
    state: bool | None = w if not rule.emits else False
    state_missing: list[str] = [] if w else list(wmiss)
    for emit in rule.emits:
        e = emit.when.test(env)
        if e is False:
            continue
        if w is True and e is True:
            status, would_be, miss_e = emit.status, None, emit.missing
            out.flags.extend(emit.case_flags)
        else:
            if emit.annotate:
                continue
            emiss: list[str] = []
            if e is None:
                emit.when.explain(env, emiss)
            status, would_be, miss_e = "blocked_missing_input", emit.status, tuple(wmiss + emiss)
        if status == "blocked_missing_input":
            out.missing.extend(miss_e)
            if state is not True:
                state = None
                state_missing.extend(miss_e)
        else:
            state = True
        # Positional (field order of Contribution): keyword calls cost twice as much, and
        # this runs for every verdict of every case of a registry audit.
        contribution = Contribution(
            spec.id,
            rule.pack,
            status,
            emit.strength,
            emit.why,
            spec.verification,
            rule.sources,
            emit.flags,
            emit.counselling,
            miss_e,
            would_be,
            emit.annotate,
            rule.needs_verification,
        )
        key: Key = (emit.option, emit.modality, target)
        group = out.grouped.get(key)
        if group is None:
            out.grouped[key] = [contribution]
        else:
            group.append(contribution)
        by_rule = out.by_rule.get(spec.id)
        if by_rule is None:
            out.by_rule[spec.id] = [contribution]
        else:
            by_rule.append(contribution)
    if w is True:
        out.flags.extend(spec.case_flags)
        if spec.notes:
            out.notes.extend({"rule_id": spec.id, "text": t} for t in spec.notes)
    elif w is None and (not rule.emits or state is None):
        # Ask for the input only if it could change what this rule says.
        out.missing.extend(wmiss)
    return state, tuple(unique(state_missing)) if state is None else ()


def _run_pack(pack: Pack, env: Env, out: _Collector) -> None:
    values = env.values
    fired = env.fired
    for gate, rules in pack.blocks:
        if gate is not None and values.get(gate) is False:
            continue  # every scope here is false; `fired` reads an absent rule as not fired
        for rule in rules:
            state: State
            if rule.spec.for_each is None:
                s = rule.scope.test(env)
                if s is False:  # checked inline: the cheapest way out
                    fired[rule.spec.id] = _NOT_FIRED
                    continue
                state = _run_rule(rule, env, out, None, s)
            elif env.items is None:
                # A rule about metastases on a case that does not say whether there are any.
                if rule.scope.test(env) is not False:
                    out.missing.append("metastases")
                    state = (None, ("metastases",))
                else:
                    state = _NOT_FIRED
            else:
                any_fired: bool | None = False
                fmiss: list[str] = []
                for i, item in enumerate(env.items):
                    env.item, env.item_index = item, i
                    r, m = _run_rule(rule, env, out, f"metastases[{i}]", rule.scope.test(env))
                    if r is True:
                        any_fired = True
                    elif r is None and any_fired is not True:
                        any_fired = None
                        fmiss.extend(m)
                env.item, env.item_index = None, -1
                state = (any_fired, tuple(fmiss) if any_fired is None else ())
            fired[rule.spec.id] = state


def _apply_conflicts(
    packset: PackSet, pack_ids: tuple[str, ...], env: Env, out: _Collector
) -> list[dict[str, Any]]:
    """Conflict register (clinical-spec §6): re-state listed rules' verdicts, report each."""
    conflicts: list[dict[str, Any]] = []
    grouped = out.grouped
    for conflict in packset.conflicts_for(pack_ids):
        spec = conflict.spec
        hit = [c for rule_id in spec.rules for c in out.by_rule.get(rule_id, ()) if not c.annotate]
        if spec.rules and not hit:
            continue
        if conflict.when.test(env) is not True:
            continue
        conflicts.append({"id": spec.id, "packs": list(spec.packs), "note": spec.note})
        if spec.set_status is None or not hit:
            continue
        hit_ids = {id(c) for c in hit}
        for key, cs in grouped.items():
            if not any(id(c) in hit_ids for c in cs):
                continue
            kept = []
            for c in cs:
                if id(c) in hit_ids:
                    if c.status == "blocked_missing_input":
                        continue  # the deciding pack rules; this rule no longer blocks
                    c.status = spec.set_status
                    c.conflict_note = f"{spec.id}: {spec.note}"
                kept.append(c)
            grouped[key] = kept
    return conflicts


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
    out = _Collector(list(d.flags), [{"rule_id": "derive", "text": n} for n in d.notes])
    for pid in EVAL_ORDER:
        if pid in pack_ids:
            _run_pack(packset.packs[pid], env, out)
    conflicts = _apply_conflicts(packset, pack_ids, env, out)
    options = merge_all(out.grouped)
    fired = [rid for rid, (st, _m) in env.fired.items() if st is True]
    flags = out.flags
    flags.extend(_engine_flags(d, case))
    followup = followup_plan(case, d) if case.pathology is not None else None
    return RecommendResult(
        derived=d.output,
        options=options,
        missing_inputs=sorted(unique(out.missing)),
        flags=unique(flags),
        conflicts=conflicts,
        followup=followup,
        packs=[
            {"id": pid, "version": packset.packs[pid].version}
            for pid in PACK_ORDER
            if pid in pack_ids
        ],
        notes=out.notes,
        rules_fired=fired,
    )
