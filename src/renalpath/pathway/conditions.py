"""A small declarative condition language for rule packs, compiled once to closures.

Why not Python expressions: packs are clinical content that clinicians review and edit; a
pack must never be able to run code, and every field it names must be checked when the
pack loads, not when a patient happens to hit the rule.

Why three-valued: a condition over an input the case does not give is neither true nor
false.  It evaluates to None ("unknown") and records which case paths were missing, so the
engine can answer `blocked_missing_input` and ask for exactly those inputs (design §3).
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
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from renalpath.pathway.case import ITEM_PREFIX, FieldKind

Tri = bool | None


@dataclass
class Env:
    """What one evaluation sees: the flattened case, derived values and rules fired so far."""

    values: dict[str, Any]
    derived_missing: dict[str, tuple[str, ...]]
    fired: dict[str, tuple[Tri, tuple[str, ...]]] = field(default_factory=dict)
    items: list[dict[str, Any]] | None = None
    item: dict[str, Any] | None = None
    item_index: int = -1


Cond = Callable[[Env, list[str]], Tri]

# Per-metastasis derived values and the case input a user must add to obtain them.
_ITEM_DERIVED_SOURCE = {
    "mirels_score": "metastases[{i}].bone",
    "mirels_group": "metastases[{i}].bone",
    "dfi_days": "pathology.date",
    "symptomatic": "metastases[{i}].symptoms",
}

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


def _lookup(path: str) -> Callable[[Env, list[str]], Any]:
    """Compile a path to a getter that records what is missing when the value is None."""
    if path.startswith(ITEM_PREFIX):
        sub = path[len(ITEM_PREFIX) :]
        if sub in _ITEM_DERIVED_SOURCE:
            source = _ITEM_DERIVED_SOURCE[sub]

            def get_item_derived(env: Env, miss: list[str]) -> Any:
                item = env.item
                value = item.get(path) if item is not None else None
                if value is None:
                    miss.append(source.format(i=env.item_index))
                return value

            return get_item_derived

        def get_item(env: Env, miss: list[str]) -> Any:
            item = env.item
            value = item.get(path) if item is not None else None
            if value is None:
                miss.append(f"metastases[{env.item_index}].{sub}")
            return value

        return get_item
    if path.startswith("derived."):
        name = path[len("derived.") :]

        def get_derived(env: Env, miss: list[str]) -> Any:
            value = env.values.get(path)
            if value is None:
                miss.extend(env.derived_missing.get(name, (path,)))
            return value

        return get_derived
    report = _missing_name(path)

    def get_case(env: Env, miss: list[str]) -> Any:
        value = env.values.get(path)
        if value is None:
            miss.append(report)
        return value

    return get_case


def _present(path: str) -> Callable[[Env], bool]:
    if path.startswith(ITEM_PREFIX):
        return lambda env: env.item is not None and env.item.get(path) is not None
    return lambda env: env.values.get(path) is not None


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
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


def compile_condition(spec: object, ctx: CompileContext) -> Cond:
    """Compile one condition; problems go to ctx.errors (the loader raises them together)."""
    if spec is True:
        return lambda env, miss: True
    if not isinstance(spec, Mapping) or len(spec) != 1:
        ctx.error(f"a condition is a mapping with exactly one operator, got {spec!r}")
        return lambda env, miss: None
    ((op, args),) = spec.items()
    if not isinstance(op, str):
        ctx.error(f"operator {op!r} is not a name (quote YAML words such as yes/no/true)")
        return lambda env, miss: None

    if op in ("all", "any"):
        if not isinstance(args, Sequence) or isinstance(args, str) or not args:
            ctx.error(f"{op} takes a non-empty list of conditions")
            return lambda env, miss: None
        parts = tuple(compile_condition(a, ctx) for a in args)
        return _all(parts) if op == "all" else _any(parts)
    if op == "not":
        inner = compile_condition(args, ctx)

        def not_(env: Env, miss: list[str]) -> Tri:
            r = inner(env, miss)
            return None if r is None else not r

        return not_
    if op == "optional":
        inner = compile_condition(args, ctx)

        def optional(env: Env, miss: list[str]) -> Tri:
            mark = len(miss)
            r = inner(env, miss)
            if r is None:
                del miss[mark:]
                return False
            return r

        return optional
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
        inner = compile_condition(args, sub)
        return _quantifier(inner, op == "some")
    if op == "fired":
        if not isinstance(args, str) or args not in ctx.all_rules:
            ctx.error(f"fired: unknown rule {args!r} (must be in the same pack)")
        elif args not in ctx.earlier_rules:
            ctx.error(f"fired: rule {args!r} must come earlier in the pack")
        rule_id = str(args)

        def fired(env: Env, miss: list[str]) -> Tri:
            state, missing = env.fired.get(rule_id, (False, ()))
            if state is None:
                miss.extend(missing)
            return state

        return fired
    if op in ("present", "absent"):
        _check_path(args, ctx)
        has = _present(str(args))
        if op == "present":
            return lambda env, miss: has(env)
        return lambda env, miss: not has(env)
    if op in ("is_true", "is_false"):
        kind = _check_path(args, ctx)
        if kind is not None and kind.kind != "bool":
            ctx.error(f"{op}: {args!r} is not a yes/no field")
        get = _lookup(str(args))
        want = op == "is_true"

        def truth(env: Env, miss: list[str]) -> Tri:
            v = get(env, miss)
            return None if v is None else bool(v) is want

        return truth
    if op in _COMPARE:
        pair = _pair(args, ctx, op)
        if pair is None:
            return lambda env, miss: None
        path, value = pair
        kind = _check_path(path, ctx)
        _check_operand(path, kind, value, ctx)
        if kind is not None and kind.kind in ("bool", "list", "object") and op not in ("eq", "ne"):
            ctx.error(f"{op}: {path!r} is not ordered")
        get = _lookup(path)
        cmp = _COMPARE[op]

        def compare(env: Env, miss: list[str]) -> Tri:
            v = get(env, miss)
            return None if v is None else cmp(v, value)

        return compare
    if op in ("in", "not_in"):
        pair = _pair(args, ctx, op)
        if pair is None:
            return lambda env, miss: None
        path, values = pair
        kind = _check_path(path, ctx)
        if not isinstance(values, Sequence) or isinstance(values, str) or not values:
            ctx.error(f"{op}: second element must be a non-empty list")
            values = ()
        for v in values:
            _check_operand(path, kind, v, ctx)
        allowed = frozenset(values)
        get = _lookup(path)
        want_in = op == "in"

        def member(env: Env, miss: list[str]) -> Tri:
            v = get(env, miss)
            return None if v is None else (v in allowed) is want_in

        return member
    if op == "contains":
        pair = _pair(args, ctx, op)
        if pair is None:
            return lambda env, miss: None
        path, value = pair
        kind = _check_path(path, ctx)
        if kind is not None and kind.kind != "list":
            ctx.error(f"contains: {path!r} is not a list field")
        _check_operand(path, kind, value, ctx)
        get = _lookup(path)

        def contains(env: Env, miss: list[str]) -> Tri:
            v = get(env, miss)
            return None if v is None else value in v

        return contains
    ctx.error(f"unknown operator {op!r}")
    return lambda env, miss: None


def _all(parts: tuple[Cond, ...]) -> Cond:
    def all_(env: Env, miss: list[str]) -> Tri:
        mark = len(miss)
        unknown = False
        for part in parts:
            r = part(env, miss)
            if r is False:
                del miss[mark:]
                return False
            if r is None:
                unknown = True
        return None if unknown else True

    return all_


def _any(parts: tuple[Cond, ...]) -> Cond:
    def any_(env: Env, miss: list[str]) -> Tri:
        mark = len(miss)
        unknown = False
        for part in parts:
            r = part(env, miss)
            if r is True:
                del miss[mark:]
                return True
            if r is None:
                unknown = True
        return None if unknown else False

    return any_


def _quantifier(inner: Cond, some: bool) -> Cond:
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
                r = inner(env, miss)
                if r is some:  # some: a True decides; every: a False decides
                    del miss[mark:]
                    return some
                if r is None:
                    unknown = True
        finally:
            env.item, env.item_index = saved_item, saved_index
        return None if unknown else not some

    return quantify
