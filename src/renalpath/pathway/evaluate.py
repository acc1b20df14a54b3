"""Fire the rules of the chosen packs on one case and assemble the result.

How one rule fires is in plan.py (one evaluation plan per pack, built on first use); this
module runs the plans in precedence order, applies the conflict register, merges, then
applies what binds every pack selection — the safety gates and the site's modalities
(safety.py) and the choice groups (choice.py) — and finally decides the blocked options
that no value of their missing inputs could change (settle.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import sys
from collections.abc import Sequence
from typing import Any

from renalpath.pathway.case import ITEM_PREFIX, Case, model_problems
from renalpath.pathway.choice import apply_groups, fold_aliases
from renalpath.pathway.conditions import Env, condition_reads
from renalpath.pathway.derive import (
    PLAIN_PATHS,
    Derived,
    derive,
    derive_changes,
)
from renalpath.pathway.followup import followup_applies, followup_plan
from renalpath.pathway.loader import Pack, PackSet
from renalpath.pathway.merge import BLOCKED, Key, merge_all
from renalpath.pathway.plan import (
    Block,
    Log,
    ReplayPlan,
    Verdicts,
    pack_plan,
    replay,
    run_logged,
    run_plan,
)
from renalpath.pathway.result import Contribution, OptionRecord, RecommendResult
from renalpath.pathway.safety import apply_any_modality_blocks, apply_gates, apply_site
from renalpath.pathway.settle import complete, settle
from renalpath.pathway.vocabulary import STATUS_RANK


@functools.lru_cache(maxsize=64)
def _plans(packset: PackSet, pack_ids: tuple[str, ...]) -> tuple[tuple[Block, ...], ...]:
    """The evaluation plans of the chosen packs, in evaluation order (built once per choice)."""
    watched = frozenset(rule_id for c in packset.conflicts for rule_id in c.spec.rules)
    return tuple(_pack_plan(packset, pid, watched) for pid in packset.order if pid in pack_ids)


@functools.lru_cache(maxsize=64)
def _pack_plan(packset: PackSet, pack_id: str, watched: frozenset[str]) -> tuple[Block, ...]:
    return pack_plan(packset.packs[pack_id], watched)


def _fired_refs(spec: object, out: set[str]) -> None:
    """Rule IDs a condition spec refers to with `fired`."""
    if isinstance(spec, dict):
        for op, args in spec.items():
            if op == "fired" and isinstance(args, str):
                out.add(args)
            else:
                _fired_refs(args, out)
    elif isinstance(spec, list):
        for item in spec:
            _fired_refs(item, out)


def _needed_options(packset: PackSet, options: frozenset[str]) -> frozenset[str]:
    """The options whose verdicts can change the final status of `options`: themselves, the
    other members of their choice groups, the options they prepare and their aliases."""
    groups = packset.groups
    need = set(options)
    for group in groups.groups:
        if need.intersection(group.options):
            need.update(group.options)
    for a, b in (*groups.same_as.items(), *groups.follows.items()):
        if a in need:
            need.add(b)
        if b in need and a in groups.same_as:
            need.add(a)
    return frozenset(need)


# Per pack (by identity, checked): each rule's emitted options and the rules it asks
# `fired` about.  Walking every rule's condition specs again for each set of options asked
# was most of the cost of a batch's first cases.
_RULE_LINKS: dict[int, tuple[Pack, dict[str, frozenset[str]], dict[str, frozenset[str]]]] = {}


def _rule_links(pack: Pack) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    found = _RULE_LINKS.get(id(pack))
    if found is not None and found[0] is pack:
        return found[1], found[2]
    emitted: dict[str, frozenset[str]] = {}
    refs_of: dict[str, frozenset[str]] = {}
    for rule in pack.rules:
        emitted[rule.id] = frozenset(e.option for e in rule.emits)
        refs: set[str] = set()
        _fired_refs([rule.spec.scope, rule.spec.when, [e.spec.when for e in rule.emits]], refs)
        refs_of[rule.id] = frozenset(refs)
    _RULE_LINKS[id(pack)] = (pack, emitted, refs_of)
    return emitted, refs_of


@functools.lru_cache(maxsize=512)
def _sub_plans(
    packset: PackSet, pack_ids: tuple[str, ...], options: frozenset[str]
) -> tuple[ReplayPlan, ...]:
    """Plans that fire only the rules that can speak about `options` (and the rules those
    refer to with `fired`): enough to know those options' final status, at a fraction of
    the cost.  Used to try many values of a missing input (settle.py), replayed: a rule
    that reads none of the inputs tried says what it said on the case itself."""
    need = _needed_options(packset, options)
    watched = frozenset(rule_id for c in packset.conflicts for rule_id in c.spec.rules)
    plans = []
    for pid in packset.order:
        if pid not in pack_ids:
            continue
        pack = packset.packs[pid]
        emitted, refs_of = _rule_links(pack)
        keep = {r.id for r in pack.rules if not need.isdisjoint(emitted[r.id])}
        todo = list(keep)
        while todo:
            for ref in refs_of[todo.pop()] - keep:
                keep.add(ref)
                todo.append(ref)
        sub = Pack(pack.id, pack.version, pack.title, tuple(r for r in pack.rules if r.id in keep))
        plans.append(ReplayPlan(sub, watched))
    return tuple(plans)


def _apply_conflicts(
    packset: PackSet, pack_ids: tuple[str, ...], env: Env, out: Verdicts
) -> list[dict[str, Any]]:
    """Conflict register: re-state the listed rules' verdicts, report each entry that applies.

    Verdicts are shared between results (plan.py), so a re-stated one is another object.
    """
    conflicts: list[dict[str, Any]] = []
    grouped, by_rule = out.grouped, out.by_rule
    for conflict in packset.conflicts_for(pack_ids):
        spec = conflict.spec
        if spec.rules:
            if by_rule.keys().isdisjoint(spec.rules):
                continue  # the usual case: none of its rules spoke
            hit = [kc for r in spec.rules for kc in by_rule.get(r, ()) if not kc[1].annotate]
            if not hit:
                continue
        else:
            hit = []
        if conflict.when.test(env) is not True:
            continue
        conflicts.append({"id": spec.id, "packs": list(spec.packs), "note": spec.note})
        status = spec.set_status
        if status is None or not hit:
            continue
        hit_ids = {id(c) for _key, c in hit}
        for key in dict.fromkeys(key for key, _c in hit):  # each option once, in order
            kept = []
            for c in grouped[key]:
                if id(c) in hit_ids:
                    if c.status == BLOCKED:
                        continue  # the deciding pack rules; this rule no longer blocks
                    c = _restated(c, spec.id, status, spec.note)
                kept.append(c)
            grouped[key] = kept
        for rule_id in spec.rules:  # later register entries see the re-stated verdicts
            if rule_id in by_rule:
                by_rule[rule_id] = [
                    (key, c)
                    if id(c) not in hit_ids or c.status == BLOCKED
                    else (key, _restated(c, spec.id, status, spec.note))
                    for key, c in by_rule[rule_id]
                ]
    return conflicts


# Re-stated verdicts, built once like every other verdict (merge.py remembers merges by
# verdict identity, so a verdict rebuilt per case would never be recognised).
_RESTATED: dict[tuple[Contribution, str], Contribution] = {}
_RESTATED_LIMIT = 4096


def _restated(c: Contribution, conflict_id: str, status: str, note: str) -> Contribution:
    verdict = _RESTATED.get((c, conflict_id))
    if verdict is None:
        verdict = dataclasses.replace(c, status=status, conflict_note=f"{conflict_id}: {note}")
        if len(_RESTATED) < _RESTATED_LIMIT:
            _RESTATED[(c, conflict_id)] = verdict
    return verdict


@functools.lru_cache(maxsize=64)
def _pack_versions(packset: PackSet, pack_ids: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    order = packset.display_order or packset.order
    return tuple((pid, packset.packs[pid].version) for pid in order if pid in pack_ids)


def _with_plain(d: Derived, assignment: Sequence[tuple[str, Any]]) -> Derived | None:
    """The derived values of the case with these inputs set, if every one is a field that
    derive() only copies (derive.PLAIN_PATHS) and its parent object is present; else None."""
    values: dict[str, Any] | None = None
    items: list[dict[str, Any]] | None = None
    for path, value in assignment:
        if path.startswith("metastases["):
            index, _, sub = path[len("metastases[") :].partition("].")
            key = ITEM_PREFIX + sub
            if key not in PLAIN_PATHS or d.items is None or not index.isdigit():
                return None
            i = int(index)
            if i >= len(d.items):
                return None
            if items is None:
                items = list(d.items)
            items[i] = {**items[i], sys.intern(key): value}
        else:
            parent = path.rpartition(".")[0]
            if path not in PLAIN_PATHS or parent not in d.values:
                return None
            if values is None:
                values = dict(d.values)
            values[sys.intern(path)] = value
    return Derived(
        d.values if values is None else values,
        d.missing,
        d.items if items is None else items,
        d.output,
        list(d.flags),
        list(d.notes),
    )


def _rank(record: OptionRecord) -> int:
    return STATUS_RANK[record.status]


class _Outcome:
    """What the packs, gates and choice groups say about one case, before settling."""

    __slots__ = ("conflicts", "derived", "options", "verdicts")

    def __init__(
        self,
        options: list[OptionRecord],
        verdicts: Verdicts,
        conflicts: list[dict[str, Any]],
        derived: Derived,
    ) -> None:
        self.options = options
        self.verdicts = verdicts
        self.conflicts = conflicts
        self.derived = derived


def _decide(
    case: Case, packset: PackSet, pack_ids: tuple[str, ...], today: dt.date | None
) -> _Outcome:
    d = derive(case, today)
    env = Env(d.values, d.missing, {}, d.items)
    out = Verdicts(d.flags, [{"rule_id": "derive", "text": n} for n in d.notes])
    for plan in _plans(packset, pack_ids):
        run_plan(plan, env, out)
    conflicts, options = _finish(case, packset, pack_ids, env, out)
    return _Outcome(options, out, conflicts, d)


def _finish(
    case: Case, packset: PackSet, pack_ids: tuple[str, ...], env: Env, out: Verdicts
) -> tuple[list[dict[str, Any]], list[OptionRecord]]:
    """From the rules' verdicts to the options: the conflict register, the merge, the
    safety gates, the site's modalities and the choice groups."""
    conflicts = _apply_conflicts(packset, pack_ids, env, out)
    fold_aliases(out.grouped, packset.groups)
    options = merge_all(out.grouped)
    apply_any_modality_blocks(options)
    apply_gates(options, packset.gates, env, out.flags)
    site = case.site
    apply_site(options, packset.gates, None if site is None else site.ablation_modalities)
    conflicts.extend(apply_groups(options, packset.groups, packset.order))
    return conflicts, options


class _Completions:
    """Runs the engine on completions of one case (the case with some missing inputs set),
    for settle.py: only the rules about the options asked (`_sub_plans`), and of those only
    the ones that read an input that changed — the others say what they said on the case
    itself, logged once (plan.py replay).  Derived values are re-derived only where a
    changed input feeds them (derive.py derive_changes)."""

    def __init__(
        self,
        case: Case,
        packset: PackSet,
        pack_ids: tuple[str, ...],
        today: dt.date | None,
        base: Derived,
        asking: frozenset[str],
    ) -> None:
        self.case, self.packset, self.pack_ids, self.today = case, packset, pack_ids, today
        self.base = base
        self.plans = _sub_plans(packset, pack_ids, asking)
        self.logs: list[Log] | None = None
        # Whether the case passes the checks between fields (a Case built by the caller
        # without parse_case may not): then a completion is checked only where it changes
        # what they read (settle.complete).
        self.checked: bool | None = None

    def _logs(self) -> list[Log]:
        logs = self.logs
        if logs is None:
            base = self.base
            env = Env(base.values, base.missing, {}, base.items)
            out = Verdicts([], [])
            logs = self.logs = [run_logged(plan, env, out) for plan in self.plans]
        return logs

    def run(self, assignment: Sequence[tuple[str, Any]]) -> dict[Key, OptionRecord] | None:
        case, base = self.case, self.base
        plain = _with_plain(base, assignment)
        if plain is not None:
            d = plain
            changed = frozenset(_plain_key(path) for path, _v in assignment)
        else:
            checked = self.checked
            if checked is None:
                checked = self.checked = not model_problems(case, self.today or dt.date.today())
            filled = complete(case, assignment, self.today, case_checked=checked)
            if filled is None:
                return None
            paths = [path for path, _v in assignment]
            found = derive_changes(base, filled, paths)
            if found is None:
                return None
            d, changed = found
        env = Env(d.values, d.missing, {}, d.items)
        out = Verdicts([], [])
        for plan, log in zip(self.plans, self._logs(), strict=True):
            replay(plan, log, env, out, changed)
        return _finish_cached(case, self.packset, self.pack_ids, env, out)


# Options by everything _finish() reads, for settling: the verdicts of each option (shared
# objects, compared by identity, held alive by the key), the values the conflict register
# and the gates test, the rules they ask `fired` about, and the site's modalities.  Many
# completions of a case, and many cases, come to the same verdicts.  The options are shared
# between those runs, so they are read, never changed (settle.py copies what it keeps).
# Kept by option key, as settle.py reads them.
_FINISHED: dict[tuple[Any, ...], dict[Key, OptionRecord]] = {}
_FINISHED_LIMIT = 4096


@functools.lru_cache(maxsize=64)
def _finish_reads(
    packset: PackSet, pack_ids: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """What the conflict register (for these packs) and the gates read: case paths,
    metastasis paths, and rules asked about with `fired`."""
    paths: set[str] = set()
    refs: set[str] = set()
    for c in packset.conflicts_for(pack_ids):
        condition_reads(c.spec.when, paths, refs)
    for g in packset.gates.gates:
        condition_reads(g.spec.when, paths, refs)
    case = tuple(sorted(sys.intern(p) for p in paths if not p.startswith(ITEM_PREFIX)))
    items = tuple(sorted(sys.intern(p) for p in paths if p.startswith(ITEM_PREFIX)))
    return case, items, tuple(sorted(refs))


def _finish_cached(
    case: Case, packset: PackSet, pack_ids: tuple[str, ...], env: Env, out: Verdicts
) -> dict[Key, OptionRecord]:
    paths, item_paths, refs = _finish_reads(packset, pack_ids)
    values = env.values
    site = case.site
    modalities = None if site is None else site.ablation_modalities
    items = env.items
    key = (
        packset,
        pack_ids,
        tuple((k, tuple(cs)) for k, cs in out.grouped.items()),
        tuple([values.get(p) for p in paths]),
        None
        if not item_paths or items is None
        else tuple(tuple([item.get(p) for p in item_paths]) for item in items),
        tuple([env.fired.get(r) for r in refs]),
        None if modalities is None else tuple(modalities),
    )
    found = _FINISHED.get(key)
    if found is None:
        options = _finish(case, packset, pack_ids, env, out)[1]
        found = {(r.option, r.modality, r.target): r for r in options}
        if len(_FINISHED) >= _FINISHED_LIMIT:
            _FINISHED.clear()
        _FINISHED[key] = found
    return found


def _plain_key(path: str) -> str:
    """The flattened key a plain input is read at (`metastases[2].size_mm` → `met.size_mm`)."""
    if path.startswith("metastases["):
        return sys.intern(ITEM_PREFIX + path.partition("].")[2])
    return sys.intern(path)


def evaluate(
    case: Case, packset: PackSet, pack_ids: tuple[str, ...], today: dt.date | None = None
) -> RecommendResult:
    outcome = _decide(case, packset, pack_ids, today)
    out = outcome.verdicts
    options = outcome.options
    if any(o.status == BLOCKED for o in options):
        asking = frozenset(o.option for o in options if o.status == BLOCKED)
        completions = _Completions(case, packset, pack_ids, today, outcome.derived, asking)
        options = settle(options, completions.run, packset.input_values)
        # A settled option may now share its choice group with another `recommended`.
        outcome.conflicts.extend(apply_groups(options, packset.groups, packset.order))
    # An input asked for only by option verdicts is listed only while it is decisive for an
    # option still blocked; inputs that route the case or set its flags are always listed.
    missing = out.missing
    if missing:
        asked = {m for cs in out.grouped.values() for c in cs for m in c.missing}
        decisive = {m for o in options if o.status == BLOCKED for m in o.missing}
        missing = [m for m in missing if m not in asked or m in decisive]
        missing.extend(decisive)
    options.sort(key=_rank)  # stable: emit order within a status
    d = outcome.derived
    return RecommendResult(
        derived=d.output,
        options=options,
        missing_inputs=sorted(set(missing)),
        flags=list(dict.fromkeys(out.flags)),  # unique, first-seen order
        conflicts=outcome.conflicts,
        followup=followup_plan(case, d) if followup_applies(case) else None,
        packs=[{"id": pid, "version": v} for pid, v in _pack_versions(packset, pack_ids)],
        notes=out.notes,
        rules_fired=out.fired,
    )
