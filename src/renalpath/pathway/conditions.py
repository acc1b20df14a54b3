"""A small declarative condition language for rule packs, compiled once to closures.

Why not Python expressions: packs are clinical content that clinicians review and edit; a
pack must never be able to run code, and every field it names must be checked when the
pack loads, not when a patient happens to hit the rule.

Why three-valued: a condition over an input the case does not give is neither true nor
false.  It evaluates to None ("unknown") and records which case paths were missing, so the
engine can answer `blocked_missing_input` and ask for exactly those inputs.
`all`/`any`/`not` follow Kleene logic: `all` is false as soon as one part is false, even if
another part is unknown, so irrelevant missing inputs are never asked for.

Forms (YAML):
  {all: [c, ...]}  {any: [c, ...]}  {not: c}  {optional: c}   (optional: unknown → false)
  {eq|ne|lt|le|gt|ge: [path, value]}  {in|not_in: [path, [values]]}  {contains: [path, value]}
  {is_true: path}  {is_false: path}  {present: path}  {absent: path}
                            (present/absent are never unknown)
  {some: c}  {every: c}     c over `met.*` paths, for each entry of `metastases`
  {fired: RULE-ID}          an earlier rule of the same pack fired (unknown if it was blocked)
Paths: case paths (`tumour.size_mm`), `derived.*` (see derive.py) and `met.*` (one metastasis).

Why every condition is compiled twice (`Condition.test` and `Condition.explain`): most
conditions on most cases come out true or false, and then nobody needs to know which inputs
were missing.  `test` only answers; `explain` also records the missing inputs and is run
only when `test` said "unknown".  Both are built side by side from the same spec below, so
they cannot drift apart; `explain` never adds to `miss` when its answer is true or false.

Why leaves are also kept as data (`Leaf`): a test of one value is most of what the engine
runs.  `not` and `optional` fold into the leaf (negated answer, answer for a missing value)
instead of wrapping it in another closure, and `all`/`any` of leaves and the rule plan
(plan.py) run leaves inline rather than calling one closure per leaf.
"""

from __future__ import annotations

import functools
import operator
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from renalpath.pathway.case import ITEM_PREFIX, FieldKind

Tri = bool | None


@dataclass(slots=True)
class Env:
    """What one evaluation sees: the flattened case, derived values and rules fired so far."""

    values: dict[str, Any]
    derived_missing: dict[str, tuple[str, ...]]
    fired: dict[str, tuple[Tri, tuple[str, ...]]] = field(default_factory=dict)
    items: list[dict[str, Any]] | None = None
    item: dict[str, Any] | None = None
    item_index: int = -1


Cond = Callable[[Env, list[str]], Tri]  # answers and records missing inputs in the list
Test = Callable[[Env], Tri]  # only answers


class Leaf(NamedTuple):
    """A test of one value, kept as data so `all`/`any` and the rule plan can run it inline.

    `answer(v)` for a present value, `if_missing` when it is absent (None = unknown, and the
    path is then reported missing; True/False after `optional`/`not`).  `negated` is `answer`
    with its result inverted, so `not` folds into the leaf instead of wrapping it.
    """

    path: str
    answer: Callable[[Any], bool]
    negated: Callable[[Any], bool]
    if_missing: Tri = None

    @property
    def on_item(self) -> bool:
        return self.path.startswith(ITEM_PREFIX)


class Condition(NamedTuple):
    test: Test
    explain: Cond
    leaf: Leaf | None = None  # set when the condition is one (possibly negated) value test


def _constant(value: Tri) -> Condition:
    return Condition(lambda env: value, lambda env, miss: value)


_NOT_FIRED: tuple[Tri, tuple[str, ...]] = (False, ())

# Per-metastasis derived values and the case input a user must add to obtain them.
_ITEM_DERIVED_SOURCE = {
    "mirels_score": "metastases[{i}].bone",
    "mirels_group": "metastases[{i}].bone",
    "dfi_days": "pathology.date",
    "symptomatic": "metastases[{i}].symptoms",
}

# Set by derive.py on a metastasis whose bone entry lacks some Mirels parts: their paths.
_MIRELS_MISSING = ITEM_PREFIX + "mirels_missing"

# Objects whose fields all have defaults: when the object is absent, ask for the object.
_DEFAULTED_OBJECTS = ("tumour.extension.",)


class PackError(ValueError):
    """A pack failed validation at load time; the message names pack, rule and field."""


@dataclass
class CompileContext:
    fields: Mapping[str, FieldKind]
    where: str
    earlier_rules: frozenset[str] = frozenset()
    all_rules: frozenset[str] = frozenset()
    allow_items: bool = False
    errors: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.errors.append(f"{self.where}: {message}")


def _missing_name(path: str) -> str:
    for prefix in _DEFAULTED_OBJECTS:
        if path.startswith(prefix):
            return prefix[:-1]
    return path


def _reporter(path: str) -> Callable[[Env, list[str]], None]:
    """What to add to `miss` when `path` has no value: the case input a user must fill in."""
    if path.startswith(ITEM_PREFIX):
        sub = path[len(ITEM_PREFIX) :]
        if sub in ("mirels_score", "mirels_group"):
            source = _ITEM_DERIVED_SOURCE[sub]

            def mirels_missing(env: Env, miss: list[str]) -> None:
                parts = None if env.item is None else env.item.get(_MIRELS_MISSING)
                if parts:
                    miss.extend(parts)
                else:
                    miss.append(source.format(i=env.item_index))

            return mirels_missing
        if sub in _ITEM_DERIVED_SOURCE:
            source = _ITEM_DERIVED_SOURCE[sub]
            return lambda env, miss: miss.append(source.format(i=env.item_index))
        return lambda env, miss: miss.append(f"metastases[{env.item_index}].{sub}")
    if path.startswith("derived."):
        name = path[len("derived.") :]
        return lambda env, miss: miss.extend(env.derived_missing.get(name, (path,)))
    report = _missing_name(path)
    return lambda env, miss: miss.append(report)


def _present(path: str) -> Callable[[Env], bool]:
    if path.startswith(ITEM_PREFIX):
        return lambda env: env.item is not None and env.item.get(path) is not None
    return lambda env: env.values.get(path) is not None


def _leaf(leaf: Leaf) -> Condition:
    """A test on one value: `if_missing` when the value is missing, else `answer(value)`.

    `answer` is a built-in where possible (bool, operator.not_, a bound comparison): leaves
    are the most frequently run code of the engine.
    """
    path, answer, _negated, if_missing = leaf
    path = sys.intern(path)  # the flattened case's keys are interned too (derive.py)
    report = _reporter(path)
    # Two copies of one body (case value / metastasis value): the lookup is inlined, as a
    # getter call would cost as much as the test itself.
    if not leaf.on_item:

        def test(env: Env) -> Tri:
            v = env.values.get(path)
            return if_missing if v is None else answer(v)

        def explain(env: Env, miss: list[str]) -> Tri:
            v = env.values.get(path)
            if v is None:
                if if_missing is None:
                    report(env, miss)
                return if_missing
            return answer(v)

    else:

        def test(env: Env) -> Tri:
            item = env.item
            v = None if item is None else item.get(path)
            return if_missing if v is None else answer(v)

        def explain(env: Env, miss: list[str]) -> Tri:
            item = env.item
            v = None if item is None else item.get(path)
            if v is None:
                if if_missing is None:
                    report(env, miss)
                return if_missing
            return answer(v)

    return Condition(test, explain, leaf)


def _negate(answer: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: not answer(v)


# `v OP value` as a one-argument built-in of v: partial(OP', value)(v) == OP'(value, v), where
# OP' is OP with its sides swapped (v < value  ⇔  value > v).
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.gt,
    "le": operator.ge,
    "gt": operator.lt,
    "ge": operator.le,
}


def _check_path(path: object, ctx: CompileContext) -> FieldKind | None:
    if not isinstance(path, str):
        ctx.error(f"field path must be a string, got {path!r}")
        return None
    if path.startswith(ITEM_PREFIX) and not ctx.allow_items:
        ctx.error(f"{path!r} is a metastasis field: use it inside some/every or for_each")
        return None
    kind = ctx.fields.get(path)
    if kind is None:
        ctx.error(f"condition on a field that does not exist: {path!r}")
    return kind


def _check_operand(path: str, kind: FieldKind | None, value: object, ctx: CompileContext) -> None:
    if kind is None:
        return
    if kind.kind in ("enum", "list") and kind.choices:
        if not isinstance(value, str) or value not in kind.choices:
            ctx.error(f"{path}: {value!r} is not one of {', '.join(kind.choices)}")
    elif kind.kind == "bool" and not isinstance(value, bool):
        ctx.error(f"{path}: compare a yes/no field with true/false, not {value!r}")
    elif kind.kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        ctx.error(f"{path}: compare a number with a number, not {value!r}")


def _pair(args: object, ctx: CompileContext, op: str) -> tuple[str, Any] | None:
    if not isinstance(args, Sequence) or isinstance(args, str) or len(args) != 2:
        ctx.error(f"{op} takes [path, value], got {args!r}")
        return None
    return str(args[0]), args[1]


def compile_condition(spec: object, ctx: CompileContext) -> Condition:
    """Compile one condition; problems go to ctx.errors (the loader raises them together)."""
    if spec is True:
        return _constant(True)
    if not isinstance(spec, Mapping) or len(spec) != 1:
        ctx.error(f"a condition is a mapping with exactly one operator, got {spec!r}")
        return _constant(None)
    ((op, args),) = spec.items()
    if not isinstance(op, str):
        ctx.error(f"operator {op!r} is not a name (quote YAML words such as yes/no/true)")
        return _constant(None)

    if op in ("all", "any"):
        if not isinstance(args, Sequence) or isinstance(args, str) or not args:
            ctx.error(f"{op} takes a non-empty list of conditions")
            return _constant(None)
        parts = tuple(compile_condition(a, ctx) for a in args)
        return _all(parts) if op == "all" else _any(parts)
    if op == "not":
        inner_test, inner, leaf = compile_condition(args, ctx)
        if leaf is not None:
            m = leaf.if_missing
            return _leaf(Leaf(leaf.path, leaf.negated, leaf.answer, None if m is None else not m))

        def not_test(env: Env) -> Tri:
            r = inner_test(env)
            return None if r is None else not r

        def not_(env: Env, miss: list[str]) -> Tri:
            r = inner(env, miss)
            return None if r is None else not r

        return Condition(not_test, not_)
    if op == "optional":
        inner_test, inner, leaf = compile_condition(args, ctx)
        if leaf is not None:
            m = leaf.if_missing
            return _leaf(leaf._replace(if_missing=False if m is None else m))

        def optional_test(env: Env) -> Tri:
            r = inner_test(env)
            return False if r is None else r

        def optional(env: Env, miss: list[str]) -> Tri:
            mark = len(miss)
            r = inner(env, miss)
            if r is None:
                del miss[mark:]
                return False
            return r

        return Condition(optional_test, optional)
    if op in ("some", "every"):
        if ctx.allow_items and ctx.fields.get("__in_item__") is not None:
            ctx.error(f"{op} cannot be nested inside another metastasis quantifier")
        sub = CompileContext(
            {**ctx.fields, "__in_item__": FieldKind("object")},
            ctx.where,
            ctx.earlier_rules,
            ctx.all_rules,
            True,
            ctx.errors,
        )
        return _quantifier(compile_condition(args, sub), op == "some")
    if op == "fired":
        if not isinstance(args, str) or args not in ctx.all_rules:
            ctx.error(f"fired: unknown rule {args!r} (must be in the same pack)")
        elif args not in ctx.earlier_rules:
            ctx.error(f"fired: rule {args!r} must come earlier in the pack")
        rule_id = str(args)

        def fired_test(env: Env) -> Tri:
            return env.fired.get(rule_id, _NOT_FIRED)[0]

        def fired(env: Env, miss: list[str]) -> Tri:
            state, missing = env.fired.get(rule_id, _NOT_FIRED)
            if state is None:
                miss.extend(missing)
            return state

        return Condition(fired_test, fired)
    if op in ("present", "absent"):
        _check_path(args, ctx)
        has = _present(str(args))
        if op == "present":
            return Condition(has, lambda env, miss: has(env))

        def lacks(env: Env) -> bool:
            return not has(env)

        return Condition(lacks, lambda env, miss: lacks(env))
    if op in ("is_true", "is_false"):
        kind = _check_path(args, ctx)
        if kind is not None and kind.kind != "bool":
            ctx.error(f"{op}: {args!r} is not a yes/no field")
        yes, no = (bool, operator.not_) if op == "is_true" else (operator.not_, bool)
        return _leaf(Leaf(str(args), yes, no))
    if op in _COMPARE:
        pair = _pair(args, ctx, op)
        if pair is None:
            return _constant(None)
        path, value = pair
        kind = _check_path(path, ctx)
        _check_operand(path, kind, value, ctx)
        if kind is not None and kind.kind in ("bool", "list", "object") and op not in ("eq", "ne"):
            ctx.error(f"{op}: {path!r} is not ordered")
        answer: Callable[[Any], bool] = functools.partial(_COMPARE[op], value)
        negated: Callable[[Any], bool]
        if op in ("eq", "ne"):
            negated = functools.partial(_COMPARE["ne" if op == "eq" else "eq"], value)
        else:
            negated = _negate(answer)  # not (v < x) is not v >= x for every value (NaN)
        return _leaf(Leaf(path, answer, negated))
    if op in ("in", "not_in"):
        pair = _pair(args, ctx, op)
        if pair is None:
            return _constant(None)
        path, values = pair
        kind = _check_path(path, ctx)
        if not isinstance(values, Sequence) or isinstance(values, str) or not values:
            ctx.error(f"{op}: second element must be a non-empty list")
            values = ()
        for v in values:
            _check_operand(path, kind, v, ctx)
        allowed = frozenset(values)
        inside, outside = allowed.__contains__, _negate(allowed.__contains__)
        return _leaf(Leaf(path, *((inside, outside) if op == "in" else (outside, inside))))
    if op == "contains":
        pair = _pair(args, ctx, op)
        if pair is None:
            return _constant(None)
        path, value = pair
        kind = _check_path(path, ctx)
        if kind is not None and kind.kind != "list":
            ctx.error(f"contains: {path!r} is not a list field")
        _check_operand(path, kind, value, ctx)
        return _leaf(Leaf(path, lambda v: value in v, lambda v: value not in v))
    ctx.error(f"unknown operator {op!r}")
    return _constant(None)


def condition_reads(spec: object, paths: set[str], rules: set[str]) -> None:
    """Every path a condition spec reads (case, `derived.*` and `met.*`) and every rule it
    asks `fired` about, added to `paths` and `rules`.

    Kept beside compile_condition, which it mirrors operator by operator: a condition's answer
    (and the inputs it reports missing) depends on nothing else, so a rule whose paths did not
    change gives what it gave before (plan.py `replay`).
    """
    if not isinstance(spec, Mapping) or len(spec) != 1:
        return
    ((op, args),) = spec.items()
    if op in ("all", "any") and isinstance(args, Sequence) and not isinstance(args, str):
        for part in args:
            condition_reads(part, paths, rules)
    elif op in ("not", "optional", "some", "every"):
        condition_reads(args, paths, rules)
    elif op == "fired":
        rules.add(str(args))
    elif op in ("present", "absent", "is_true", "is_false"):
        paths.add(str(args))
    elif isinstance(args, Sequence) and not isinstance(args, str) and args:
        paths.add(str(args[0]))  # [path, value] of a comparison, in/not_in, contains


def _case_leaves(parts: tuple[Condition, ...]) -> tuple[tuple[str, Any, Tri], ...] | None:
    """(path, answer, if_missing) of each part, if every part is a leaf on a case path."""
    leaves = [p.leaf for p in parts]
    if any(leaf is None or leaf.on_item for leaf in leaves):
        return None
    return tuple((sys.intern(leaf.path), leaf.answer, leaf.if_missing) for leaf in leaves if leaf)


def _all(parts: tuple[Condition, ...]) -> Condition:
    tests = tuple(p.test for p in parts)
    explains = tuple(p.explain for p in parts)
    leaves = _case_leaves(parts)

    def all_test(env: Env) -> Tri:
        unknown = False
        for test in tests:
            r = test(env)
            if r is False:
                return False
            if r is None:
                unknown = True
        return None if unknown else True

    def all_leaves_test(env: Env) -> Tri:  # the same, with the leaves run inline
        values = env.values
        unknown = False
        for path, answer, if_missing in leaves or ():
            v = values.get(path)
            r = if_missing if v is None else answer(v)
            if r is False:
                return False
            if r is None:
                unknown = True
        return None if unknown else True

    def all_(env: Env, miss: list[str]) -> Tri:
        mark = len(miss)
        unknown = False
        for part in explains:
            r = part(env, miss)
            if r is False:
                del miss[mark:]
                return False
            if r is None:
                unknown = True
        return None if unknown else True

    return Condition(all_test if leaves is None else all_leaves_test, all_)


def _any(parts: tuple[Condition, ...]) -> Condition:
    tests = tuple(p.test for p in parts)
    explains = tuple(p.explain for p in parts)
    leaves = _case_leaves(parts)

    def any_test(env: Env) -> Tri:
        unknown = False
        for test in tests:
            r = test(env)
            if r is True:
                return True
            if r is None:
                unknown = True
        return None if unknown else False

    def any_leaves_test(env: Env) -> Tri:  # the same, with the leaves run inline
        values = env.values
        unknown = False
        for path, answer, if_missing in leaves or ():
            v = values.get(path)
            r = if_missing if v is None else answer(v)
            if r is True:
                return True
            if r is None:
                unknown = True
        return None if unknown else False

    def any_(env: Env, miss: list[str]) -> Tri:
        mark = len(miss)
        unknown = False
        for part in explains:
            r = part(env, miss)
            if r is True:
                del miss[mark:]
                return True
            if r is None:
                unknown = True
        return None if unknown else False

    return Condition(any_test if leaves is None else any_leaves_test, any_)


def _quantifier(inner: Condition, some: bool) -> Condition:
    inner_test, inner_explain, _leaf_spec = inner

    def quantify_test(env: Env) -> Tri:
        items = env.items
        if items is None:
            return None
        saved_item, saved_index = env.item, env.item_index
        unknown = False
        try:
            for i, item in enumerate(items):
                env.item, env.item_index = item, i
                r = inner_test(env)
                if r is some:  # some: a True decides; every: a False decides
                    return some
                if r is None:
                    unknown = True
        finally:
            env.item, env.item_index = saved_item, saved_index
        return None if unknown else not some

    def quantify(env: Env, miss: list[str]) -> Tri:
        items = env.items
        if items is None:
            miss.append("metastases")
            return None
        saved_item, saved_index = env.item, env.item_index
        mark = len(miss)
        unknown = False
        try:
            for i, item in enumerate(items):
                env.item, env.item_index = item, i
                r = inner_explain(env, miss)
                if r is some:
                    del miss[mark:]
                    return some
                if r is None:
                    unknown = True
        finally:
            env.item, env.item_index = saved_item, saved_index
        return None if unknown else not some

    return Condition(quantify_test, quantify)
