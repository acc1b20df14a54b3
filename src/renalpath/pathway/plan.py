"""One evaluation plan per pack: each rule turned once into a closure that fires it on a case.

Why a plan: a registry audit fires every rule of every pack on every case, and most of the
time went into the same bookkeeping each time — looking rule and emit settings up through
two or three attribute hops, and rebuilding identical verdict objects.  The plan reads those
settings once, when the pack is first used, into the closures' own variables; a verdict that
does not depend on the case (a decided emit, or a blocked one with the same missing inputs)
is built once and shared by every result.  Verdicts are frozen, so sharing is safe: the
conflict register replaces a verdict rather than editing it.

Pack data stays data: the closures are built from the compiled conditions (conditions.py),
never from Python source (a pack must never be able to run code).

Semantics (unchanged from the first engine): per rule, `scope` decides whether the rule is
about this kind of case at all (false → silent; unknown → the routing input is listed as
missing); `when` and each emit's own `when` decide what it says.  Unknown there gives a
`blocked_missing_input` verdict naming the inputs, with the status it *would* give, so the
merge can tell whether the missing input matters.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from renalpath.pathway.case import ITEM_PREFIX
from renalpath.pathway.conditions import Env, Leaf, Tri, condition_reads
from renalpath.pathway.loader import Emit, Pack, Rule
from renalpath.pathway.merge import BLOCKED, Key, unique
from renalpath.pathway.result import Contribution

State = tuple[Tri, tuple[str, ...]]
NOT_FIRED: State = (False, ())
_BLOCKED_CACHE_LIMIT = 256  # distinct missing-input sets kept per emit (bounded memory)


class Verdicts:
    """What the rules of one case say, gathered while they fire (one per evaluation)."""

    __slots__ = ("by_rule", "fired", "flags", "grouped", "log", "missing", "notes")

    def __init__(self, flags: list[str], notes: list[dict[str, str]]) -> None:
        self.grouped: dict[Key, list[Contribution]] = {}
        # When not None, every verdict added is also appended here (run_logged).
        self.log: list[tuple[Key, Contribution]] | None = None
        # Verdicts of the rules the conflict register names, with the option they are about.
        self.by_rule: dict[str, list[tuple[Key, Contribution]]] = {}
        self.missing: list[str] = []
        self.fired: list[str] = []  # rule IDs that fired, in evaluation order
        self.flags = flags
        self.notes = notes


Step = Callable[[Env, Verdicts], None]
_Said = tuple[tuple[str, "str | None", Contribution], ...]  # (option, modality, verdict)s
# A blocked rule's verdicts, missing inputs and fired state.
_UnknownEffects = tuple[_Said, list[str], State]
Block = tuple[str | None, tuple[Step, ...], tuple[Step, ...]]  # gate, steps, gated steps
_Fire = Callable[[Env, Verdicts, "str | None"], State]
_TARGETS = [f"metastases[{i}]" for i in range(64)]


def _target(i: int) -> str:
    return _TARGETS[i] if i < len(_TARGETS) else f"metastases[{i}]"


class _EmitPlan:
    """An emit's settings and its prebuilt verdicts (decided once; blocked per missing set)."""

    __slots__ = ("blocked", "decided", "emit", "explain", "rule", "test")

    def __init__(self, rule: Rule, emit: Emit) -> None:
        self.rule, self.emit = rule, emit
        self.test, self.explain = emit.when.test, emit.when.explain
        self.decided = self._verdict(emit.status, None, emit.missing)
        self.blocked: dict[tuple[str, ...], Contribution] = {}

    def _verdict(self, status: str, would_be: str | None, missing: tuple[str, ...]) -> Contribution:
        rule, emit = self.rule, self.emit
        return Contribution(
            rule.spec.id,
            rule.pack,
            status,
            emit.strength,
            emit.why,
            rule.spec.verification,
            rule.sources,
            emit.flags,
            emit.counselling,
            missing,
            would_be,
            emit.annotate,
            rule.needs_verification,
        )

    def blocked_verdict(self, missing: tuple[str, ...]) -> Contribution:
        verdict = self.blocked.get(missing)
        if verdict is None:
            verdict = self._verdict(BLOCKED, self.emit.status, missing)
            if len(self.blocked) < _BLOCKED_CACHE_LIMIT:
                self.blocked[missing] = verdict
        return verdict


def _static_effects(
    emits: tuple[_EmitPlan, ...], case_flags: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...], State]:
    """Flags, missing inputs and fired state of a rule whose `when` and emits are all true.

    Worked out once, exactly as `fire_true` would on a case (same order, same dedup).
    """
    flags: list[str] = []
    missing: list[str] = []
    state: Tri = not emits
    state_missing: list[str] = []
    for plan in emits:
        flags.extend(plan.emit.case_flags)
        if plan.decided.status == BLOCKED:
            missing.extend(plan.decided.missing)
            if state is not True:
                state = None
                state_missing.extend(plan.decided.missing)
        else:
            state = True
    flags.extend(case_flags)
    fired: State = (None, tuple(unique(state_missing))) if state is None else (state, ())
    return tuple(flags), tuple(missing), fired


def _fire(rule: Rule, watched: bool) -> tuple[_Fire, _Fire]:
    """Two closures that fire one rule whose scope is true: `when` true, and `when` unknown.

    Each returns the rule's fired state: fired = at least one verdict emitted (or, for a
    rule without emits, its `when` holds); unknown = blocked on missing input (with those
    inputs).  Missing inputs are worked out (`explain`) only for a condition that came out
    unknown.  `watched`: the conflict register names this rule, so its verdicts are also
    kept by rule.  A rule whose emits have no `when` of their own says the same thing on
    every case where its `when` holds; its effects are worked out once (`_static_effects`).
    """
    rule_id = rule.spec.id
    when_explain = rule.when.explain
    plans = tuple(_EmitPlan(rule, e) for e in rule.emits)
    has_emits = bool(plans)
    emits = tuple(
        (
            p.test,
            p.explain,
            p.emit.spec.when is True,  # no `when` of its own: always true
            p,
            p.decided,
            p.decided.status == BLOCKED,
            p.emit.annotate,
            p.emit.case_flags,
            p.emit.option,
            p.emit.modality,
        )
        for p in plans
    )
    case_flags = tuple(rule.spec.case_flags)
    notes = tuple(rule.spec.notes)
    static = all(p.emit.spec.when is True for p in plans)
    static_verdicts = tuple((p.emit.option, p.emit.modality, p.decided) for p in plans)
    static_flags, static_missing, static_state = _static_effects(plans, case_flags)

    def add(out: Verdicts, key: Key, verdict: Contribution) -> None:
        group = out.grouped.get(key)
        if group is None:
            out.grouped[key] = [verdict]
        else:
            group.append(verdict)
        if watched:
            out.by_rule.setdefault(rule_id, []).append((key, verdict))
        log = out.log
        if log is not None:
            log.append((key, verdict))

    def add_all(
        out: Verdicts,
        target: str | None,
        verdicts: _Said,
    ) -> None:
        grouped = out.grouped
        log = out.log
        for option, mod, verdict in verdicts:
            key = (option, mod, target)
            group = grouped.get(key)
            if group is None:
                grouped[key] = [verdict]
            else:
                group.append(verdict)
            if watched:
                out.by_rule.setdefault(rule_id, []).append((key, verdict))
            if log is not None:
                log.append((key, verdict))

    def fire_static(env: Env, out: Verdicts, target: str | None) -> State:
        if static_verdicts:
            add_all(out, target, static_verdicts)
        if static_flags:
            out.flags.extend(static_flags)
        if static_missing:
            out.missing.extend(static_missing)
        if notes:
            out.notes.extend({"rule_id": rule_id, "text": t} for t in notes)
        return static_state

    def fire_true(env: Env, out: Verdicts, target: str | None) -> State:
        state: Tri = not has_emits
        state_missing: list[str] = []
        for (
            test,
            explain,
            always,
            plan,
            decided,
            decided_blocks,
            annotate,
            flags,
            option,
            mod,
        ) in emits:
            e = True if always else test(env)
            if e is False:
                continue
            if e is True:
                verdict = decided
                if flags:
                    out.flags.extend(flags)
                blocks = decided_blocks
            else:
                if annotate:
                    continue
                emiss: list[str] = []
                explain(env, emiss)
                verdict = plan.blocked_verdict(tuple(emiss))
                blocks = True
            if blocks:
                out.missing.extend(verdict.missing)
                if state is not True:
                    state = None
                    state_missing.extend(verdict.missing)
            else:
                state = True
            add(out, (option, mod, target), verdict)
        if case_flags:
            out.flags.extend(case_flags)
        if notes:
            out.notes.extend({"rule_id": rule_id, "text": t} for t in notes)
        if state is None:
            return None, tuple(unique(state_missing))
        return (True, ()) if state else NOT_FIRED

    def fire_unknown(env: Env, out: Verdicts, target: str | None) -> State:
        wmiss: list[str] = []
        when_explain(env, wmiss)
        blocked = False
        state_missing = list(wmiss)
        for test, explain, always, plan, _d, _db, annotate, _f, option, mod in emits:
            if annotate:
                continue  # an annotation never blocks
            e = True if always else test(env)
            if e is False:
                continue
            emiss: list[str] = []
            if e is None:
                explain(env, emiss)
            verdict = plan.blocked_verdict(tuple(wmiss + emiss))
            out.missing.extend(verdict.missing)
            blocked = True
            state_missing.extend(verdict.missing)
            add(out, (option, mod, target), verdict)
        if not has_emits or blocked:
            # Ask for the input only if it could change what this rule says.
            out.missing.extend(wmiss)
            return None, tuple(unique(state_missing))
        return NOT_FIRED

    # A rule with no emit conditions, blocked on its `when`: what it says depends only on
    # the inputs that `when` is missing, so it is worked out once per missing set.
    unknown_effects: dict[tuple[str, ...], _UnknownEffects] = {}

    def fire_unknown_static(env: Env, out: Verdicts, target: str | None) -> State:
        wmiss: list[str] = []
        when_explain(env, wmiss)
        key = tuple(wmiss)
        effects = unknown_effects.get(key)
        if effects is None:
            # Exactly what fire_unknown does when every emit holds (no emit conditions).
            verdicts = tuple(
                (option, mod, plan.blocked_verdict(key))
                for _t, _x, _a, plan, _d, _db, annotate, _f, option, mod in emits
                if not annotate  # an annotation never blocks
            )
            missing = [m for _o, _m, verdict in verdicts for m in verdict.missing]
            state: State = NOT_FIRED
            if not has_emits or verdicts:
                missing.extend(wmiss)
                state = (None, tuple(unique(wmiss)))
            effects = (verdicts, missing, state)
            if len(unknown_effects) < _BLOCKED_CACHE_LIMIT:
                unknown_effects[key] = effects
        verdicts, missing, state = effects
        if verdicts:
            add_all(out, target, verdicts)
        out.missing.extend(missing)
        return state

    if static:
        return fire_static, fire_unknown_static
    return fire_true, fire_unknown


def _inline(leaf: Leaf | None) -> tuple[str | None, Callable[[Any], Tri], Tri]:
    """(path, answer, if_missing) of a leaf on a case value; path None if not inlinable."""
    if leaf is None or leaf.on_item:
        return None, bool, None
    return sys.intern(leaf.path), leaf.answer, leaf.if_missing


def _mentions_items(spec: object) -> bool:
    """Whether a condition spec reads a metastasis field (`met.*`) anywhere."""
    if isinstance(spec, str):
        return spec.startswith(ITEM_PREFIX)
    if isinstance(spec, dict):
        return any(_mentions_items(v) for v in spec.values())
    if isinstance(spec, list | tuple):
        return any(_mentions_items(v) for v in spec)
    return False


def _step(rule: Rule, fires: tuple[_Fire, _Fire], gated: bool) -> Step:
    """Fire one rule on the case (for each metastasis if the rule says `for_each`).

    `gated`: this step runs only when the rule's gate is true, so the scope is what is left
    of it once the gate holds (often nothing, or one test).

    Scope and `when` are tested here, before any call into `fire`: on most cases most rules
    stop at one of them.  A rule is recorded in `env.fired` only if it fired or was blocked
    (an absent rule reads as not fired, conditions.py `fired`).
    """
    rule_id = rule.spec.id
    scope, scope_spec = rule.scope, rule.spec.scope
    if gated and rule.scope_after_gate is not None:
        scope, scope_spec = rule.scope_after_gate, rule.scope_after_gate_spec
    scope_always = scope_spec is True
    scope_test, scope_explain = scope.test, scope.explain
    when_test = rule.when.test
    fire_true, fire_unknown = fires

    def scope_unknown(env: Env, out: Verdicts) -> State:
        miss: list[str] = []
        scope_explain(env, miss)
        out.missing.extend(miss)
        return None, tuple(miss)

    if rule.spec.for_each is None:
        # A scope or `when` that is one test on a case value is run inline (no call): most
        # rules are decided by one of the two, on every case.
        scope_path, scope_answer, scope_if_missing = _inline(scope.leaf)
        when_path, when_answer, when_if_missing = _inline(rule.when.leaf)

        def step(env: Env, out: Verdicts) -> None:
            if scope_always:
                s: Tri = True
            elif scope_path is None:
                s = scope_test(env)
            else:
                v = env.values.get(scope_path)
                s = scope_if_missing if v is None else scope_answer(v)
            if s is False:
                return
            if s is True:
                if when_path is None:
                    w = when_test(env)
                else:
                    v = env.values.get(when_path)
                    w = when_if_missing if v is None else when_answer(v)
                if w is False:
                    return
                state = (fire_true if w else fire_unknown)(env, out, None)
                if state[0] is False:
                    return
            else:
                state = scope_unknown(env, out)
            env.fired[rule_id] = state
            if state[0]:
                out.fired.append(rule_id)

        return step

    scope_on_case = not _mentions_items(scope_spec)

    def step_each(env: Env, out: Verdicts) -> None:
        items = env.items
        if items is None:
            # A rule about metastases on a case that does not say whether there are any.
            if scope_test(env) is not False:
                out.missing.append("metastases")
                env.fired[rule_id] = (None, ("metastases",))
            return
        case_scope: Tri = None
        if scope_on_case:  # the same answer for every metastasis: test it once
            case_scope = True if scope_always else scope_test(env)
            if case_scope is False:
                return
        any_fired: Tri = False
        fmiss: list[str] = []
        for i, item in enumerate(items):
            env.item, env.item_index = item, i
            s = case_scope if case_scope is True else scope_test(env)
            if s is False:
                continue
            if s is True:
                w = when_test(env)
                if w is False:
                    continue
                r, m = (fire_true if w else fire_unknown)(env, out, _target(i))
            else:
                r, m = scope_unknown(env, out)
            if r is True:
                any_fired = True
            elif r is None and any_fired is not True:
                any_fired = None
                fmiss.extend(m)
        env.item, env.item_index = None, -1
        if any_fired is not False:
            env.fired[rule_id] = (any_fired, tuple(fmiss) if any_fired is None else ())
            if any_fired:
                out.fired.append(rule_id)

    return step_each


def pack_plan(pack: Pack, watched: frozenset[str]) -> tuple[Block, ...]:
    """Runs of consecutive rules sharing a gate, as steps: one tuple for a gate that is true
    (scopes reduced to what is left once it holds), one for a gate that is unknown."""
    blocks: list[Block] = []
    for gate, rules in pack.blocks:
        fires = [_fire(rule, rule.spec.id in watched) for rule in rules]
        steps = tuple(_step(rule, f, False) for rule, f in zip(rules, fires, strict=True))
        if gate is None:
            blocks.append((None, steps, steps))
            continue
        gated = tuple(_step(rule, f, True) for rule, f in zip(rules, fires, strict=True))
        blocks.append((sys.intern(gate), steps, gated))
    return tuple(blocks)


def run_plan(plan: tuple[Block, ...], env: Env, out: Verdicts) -> None:
    values = env.values
    for gate, steps, gated in plan:
        if gate is not None:
            g = values.get(gate)
            if g is False:
                continue  # every scope here is false
            if g is True:
                steps = gated
        for step in steps:
            step(env, out)


# ------------------------------------------------------------------------ logged runs, replay


class RuleStep:
    """One rule of a plan with what it reads, so a run on a slightly changed case can tell
    whether the rule could say anything different (`replay`)."""

    __slots__ = ("gate", "gated", "rule_id", "step", "watched")

    def __init__(
        self, rule_id: str, gate: str | None, step: Step, gated: Step, watched: bool
    ) -> None:
        self.rule_id, self.gate = rule_id, gate
        self.step, self.gated, self.watched = step, gated, watched


class ReplayPlan:
    """A pack's rules in evaluation order, with, for each path, the rules that read it and,
    for each rule, the later rules that ask whether it fired."""

    __slots__ = ("by_path", "dependents", "steps")

    def __init__(self, pack: Pack, watched: frozenset[str]) -> None:
        steps: list[RuleStep] = []
        by_path: dict[str, list[int]] = {}
        dependents: dict[str, list[int]] = {}
        for rule in pack.rules:
            rs, reads, refs = _rule_step(rule, rule.spec.id in watched)
            i = len(steps)
            steps.append(rs)
            for path in reads:
                by_path.setdefault(path, []).append(i)
            for ref in refs:
                dependents.setdefault(ref, []).append(i)
        self.steps = tuple(steps)
        self.by_path = {k: tuple(v) for k, v in by_path.items()}
        self.dependents = {k: tuple(v) for k, v in dependents.items()}


# Each rule's steps and reads, built once per rule (plans for different sets of options
# share them).  Keyed by identity: rules live as long as the loaded packs.
_RULE_STEPS: dict[tuple[int, bool], tuple[Rule, RuleStep, frozenset[str], frozenset[str]]] = {}


def _rule_step(rule: Rule, watched: bool) -> tuple[RuleStep, frozenset[str], frozenset[str]]:
    found = _RULE_STEPS.get((id(rule), watched))
    if found is not None and found[0] is rule:
        return found[1], found[2], found[3]
    fires = _fire(rule, watched)
    plain = _step(rule, fires, False)
    gate = rule.gate
    gated = plain if gate is None else _step(rule, fires, True)
    rs = RuleStep(rule.spec.id, None if gate is None else sys.intern(gate), plain, gated, watched)
    reads, refs = rule_reads(rule)
    _RULE_STEPS[(id(rule), watched)] = (rule, rs, reads, refs)
    return rs, reads, refs


# What the rules of a ReplayPlan did on one case, for the rules that did anything: their
# index, verdicts and fired state (None: not recorded as fired or blocked).
Log = list[tuple[int, tuple[tuple[Key, Contribution], ...], State | None]]


def rule_reads(rule: Rule) -> tuple[frozenset[str], frozenset[str]]:
    """Every path a rule's conditions read (interned, as the flattened case's keys are) and
    every rule they ask `fired` about."""
    refs: set[str] = set()
    paths: set[str] = set()
    for spec in (rule.spec.scope, rule.spec.when, *(e.spec.when for e in rule.emits)):
        condition_reads(spec, paths, refs)
    if rule.gate is not None:
        paths.add(rule.gate)
    return frozenset(sys.intern(p) for p in paths), frozenset(refs)


def _run_step(rs: RuleStep, env: Env, out: Verdicts) -> None:
    """One rule as run_plan() runs it within its run of rules sharing a gate."""
    gate = rs.gate
    if gate is None:
        rs.step(env, out)
        return
    g = env.values.get(gate)
    if g is True:
        rs.gated(env, out)
    elif g is not False:
        rs.step(env, out)


def run_logged(plan: ReplayPlan, env: Env, out: Verdicts) -> Log:
    """run_plan(), noting what each rule did, for replay()."""
    fired = env.fired
    log: Log = []
    for i, rs in enumerate(plan.steps):
        said: list[tuple[Key, Contribution]] = []
        out.log = said
        _run_step(rs, env, out)
        out.log = None
        state = fired.get(rs.rule_id)
        if said or state is not None:
            log.append((i, tuple(said), state))
    return log


_END = 1 << 30


def replay(plan: ReplayPlan, log: Log, env: Env, out: Verdicts, changed: frozenset[str]) -> None:
    """What run_plan() would give on `env`, a case that differs from the logged one only in
    the paths `changed` (values, or the inputs a derived value lacks): a rule that reads none
    of them (nor asks `fired` about a rule that was run again) says what it said; the others
    are run.  Verdicts come out in the same order as run_plan's.
    """
    by_path, dependents, steps = plan.by_path, plan.dependents, plan.steps
    queued: set[int] = set()
    for path in changed:
        found = by_path.get(path)
        if found is not None:
            queued.update(found)
    todo = sorted(queued)
    grouped, by_rule, fired = out.grouped, out.by_rule, env.fired
    t = 0
    n_log = len(log)
    k = 0
    while t < len(todo) or k < n_log:
        next_run = todo[t] if t < len(todo) else _END
        entry = log[k] if k < n_log else None
        next_logged = _END if entry is None else entry[0]
        if next_run <= next_logged:
            t += 1
            if next_run == next_logged:
                k += 1  # run again instead of replayed
            rs = steps[next_run]
            _run_step(rs, env, out)
            later = dependents.get(rs.rule_id)
            if later is not None:
                new = [j for j in later if j not in queued]
                if new:
                    queued.update(new)
                    todo = sorted({*todo[t:], *new})
                    t = 0
            continue
        assert entry is not None
        k += 1
        _i, said, state = entry
        rs = steps[next_logged]
        for key, verdict in said:
            group = grouped.get(key)
            if group is None:
                grouped[key] = [verdict]
            else:
                group.append(verdict)
            if rs.watched:
                by_rule.setdefault(rs.rule_id, []).append((key, verdict))
        if state is not None:
            fired[rs.rule_id] = state
