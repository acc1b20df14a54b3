"""Decisive missing inputs: block an option only if some value of its missing inputs would
change its final status.

Why: a rule that lacks an input reports its option as blocked, but often the answer is
already settled — IMDC is poor once three factors are present whatever the others are, a
Mirels score is 9 or more before the pain is known, and an unfit patient's nephrectomy does
not wait for the surgeon's view on a partial one.  Asking a tumour board for inputs that
cannot change the answer wastes its time and hides the answer it could act on.

How: for a blocked option, every possible value of each missing input is tried (yes/no
fields, the values of a closed list, and for numbers the values listed in the pack set's
`input_values`, one in each band the rules distinguish), and the whole engine — gates and
choice groups included — runs on each completed case.  If every completion gives the same
status, that is the answer; otherwise the option stays blocked and lists only the inputs
that, changed alone, change the status, with what each value would give.  An input with no
finite set of values (a creatinine, a date, a whole list) is never guessed: the option stays
blocked on it.  A completion the case validator refuses (e.g. cM1 with no metastasis) is not
a possible case and is skipped.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from renalpath.pathway.case import (
    ITEM_PREFIX,
    Case,
    CaseValidationError,
    FieldKind,
    case_fields,
    model_problems,
    parse_case,
)
from renalpath.pathway.merge import BLOCKED, Key
from renalpath.pathway.result import OptionRecord

# Runs the engine on the case with these inputs set: its options by key, read and never
# changed (they may be shared between runs); None if that is not a valid case.
Outcome = dict[Key, OptionRecord] | None
Run = Callable[[Sequence[tuple[str, Any]]], Outcome]

ABSENT = "not offered"  # the option is not among the results of a completed case
GRID_LIMIT = 32  # completions tried for one option
CASE_BUDGET = 64  # completions run for one case, all options together
_INDEX = re.compile(r"\[(\d+)\]")
_FIELDS = case_fields()
_EXTENSION = "tumour.extension"


def _kind_path(path: str) -> str:
    """`metastases[2].bone.pain` → `met.bone.pain` (the field registry's name for it)."""
    if path.startswith("metastases["):
        return ITEM_PREFIX + path.split("].", 1)[1] if "]." in path else "metastases"
    return path


def _hint_path(path: str) -> str:
    return _INDEX.sub("[]", path)


def domain(path: str, hints: Mapping[str, Sequence[Any]]) -> tuple[Any, ...] | None:
    """Every value a missing input can take, one per band; None if not enumerable."""
    hint = hints.get(_hint_path(path))
    if hint is not None:
        return tuple(hint)
    if path == _EXTENSION:
        # Never tried: extension flags combine (a renal-vein thrombus with adrenal invasion),
        # so no short list of values covers every case; imaging extension is asked for.
        return None
    kind: FieldKind | None = _FIELDS.get(_kind_path(path))
    if kind is None:
        return None
    if kind.kind == "bool":
        return (True, False)
    if kind.kind == "enum" and kind.choices:
        return tuple(c for c in kind.choices if c != "unknown")
    return None


_TOKENS: dict[str, tuple[str | int, ...]] = {}


def _path_tokens(path: str) -> tuple[str | int, ...]:
    """`_tokens`, worked out once per path."""
    found = _TOKENS.get(path)
    if found is None:
        found = _TOKENS[path] = tuple(_tokens(path))
    return found


def _tokens(path: str) -> list[str | int]:
    out: list[str | int] = []
    for part in path.split("."):
        m = _INDEX.search(part)
        if m:
            out.append(part[: m.start()])
            out.append(int(m.group(1)))
        else:
            out.append(part)
    return out


def _set(data: dict[str, Any], path: str, value: Any) -> bool:
    node: Any = data
    tokens = _tokens(path)
    for tok, nxt in itertools.pairwise(tokens):
        if isinstance(tok, int):
            if not isinstance(node, list) or tok >= len(node):
                return False
            node = node[tok]
            continue
        if not isinstance(node, dict):
            return False
        child = node.get(tok)
        if child is None:
            if isinstance(nxt, int):
                return False
            child = node[tok] = {}
        node = child
    last = tokens[-1]
    if not isinstance(node, dict) or isinstance(last, int):
        return False
    node[last] = value
    return True


# Case paths the checks between fields read (case.model_problems): dates, the primary's cM
# and symptoms, the metastases, the kidney, the prior treatment.  A completion that sets
# none of them, within models the case already has, cannot make a valid case invalid.
_CROSS_FIELD_PREFIXES = (
    *("as_of", "prior_treatment", "pathology.date", "metastases", "tumour.cm"),
    *("tumour.symptomatic", "tumour.symptoms", "kidney"),
)


def _outside_cross_field_checks(case: Case, assignment: Sequence[tuple[str, Any]]) -> bool:
    """Whether no check between fields reads a path the assignment sets or a model it would
    create (a new model comes with its defaults)."""
    for path, _value in assignment:
        if path.startswith(_CROSS_FIELD_PREFIXES):
            return False
        node: Any = case
        for tok in _path_tokens(path)[:-1]:
            if not isinstance(tok, str):
                return False
            node = node.__dict__.get(tok) if isinstance(node, BaseModel) else None
            if node is None:
                return False
    return True


def complete(
    case: Case,
    assignment: Sequence[tuple[str, Any]],
    today: dt.date | None = None,
    *,
    case_checked: bool = False,
) -> Case | None:
    """The case with the missing inputs set; None if that is not a valid case (validated
    exactly as a case from a user is).

    Why not simply dump, set and validate again: that is most of the cost of settling, and
    the case is valid already.  The new values are checked one by one against their own
    field (the same validator, remembered per value), the models on the way are copied with
    the value set, and the checks between fields run on the result — what `parse_case`
    would do with the dumped case, without re-validating every other field.  Anything this
    does not cover (a model with required fields to create) takes the long road.

    `case_checked`: the caller knows `case` passes the checks between fields
    (`model_problems` finds nothing), so they are run again only if the completion sets a
    value they read.
    """
    out: Case | None = case
    for path, value in assignment:
        if out is None:
            return None
        replaced = _replace(out, _path_tokens(path), 0, value)
        if replaced is _LONG_ROAD:
            return complete_by_validation(case, assignment, today)
        out = replaced if isinstance(replaced, Case) or replaced is None else None
    if out is None or out is case:
        return out
    if case_checked and _outside_cross_field_checks(case, assignment):
        return out  # `case` has no problem between fields; what they read is unchanged
    if model_problems(out, today or dt.date.today()):
        return None
    return out


def complete_by_validation(
    case: Case, assignment: Sequence[tuple[str, Any]], today: dt.date | None = None
) -> Case | None:
    """`complete` the long way: dump the case, set the values, validate it all again."""
    data = case.model_dump(exclude_none=True)
    for path, value in assignment:
        if not _set(data, path, value):
            return None
    try:
        return parse_case(data, today)
    except CaseValidationError:
        return None


_LONG_ROAD: Any = object()  # `_replace` cannot build this completion; validate instead
_INVALID: Any = object()  # the value is refused by its field's own validator
_FIELD_VALUES: dict[tuple[type[BaseModel], str, type, Any], Any] = {}


def _field_value(cls: type[BaseModel], name: str, value: Any) -> Any:
    """`value` as the model stores it in field `name` (coerced as validation would), or
    _INVALID when the field refuses it, or _LONG_ROAD when the model cannot be validated
    from that field alone (a required field)."""
    key = (cls, name, type(value), value)
    found = _FIELD_VALUES.get(key)
    if found is None:
        try:
            found = getattr(cls.model_validate({name: value}), name)
        except ValidationError as err:
            on_field = all(tuple(e["loc"][:1]) == (name,) for e in err.errors())
            found = _INVALID if on_field else _LONG_ROAD
        _FIELD_VALUES[key] = found
    return found


_SUBMODELS: dict[tuple[type[BaseModel], str], type[BaseModel] | None] = {}


def _submodel(cls: type[BaseModel], name: str) -> type[BaseModel] | None:
    """The model class a field holds (directly or as list items), if any (worked out once
    per field: reading type annotations is slow)."""
    key = (cls, name)
    if key in _SUBMODELS:
        return _SUBMODELS[key]
    found = _SUBMODELS[key] = _find_submodel(cls, name)
    return found


def _find_submodel(cls: type[BaseModel], name: str) -> type[BaseModel] | None:
    annotation = cls.model_fields[name].annotation
    for arg in (annotation, *typing.get_args(annotation)):
        for inner in (arg, *typing.get_args(arg)):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


def _copy_with(model: BaseModel, fields: dict[str, Any], name: str, value: Any) -> BaseModel:
    """`model.model_copy(update={name: value})` for the case's models (`fields` is the
    model's `__dict__`), without its generic handling: the case's models have no extra
    fields, private attributes or anything else in their `__dict__`."""
    new = object.__new__(type(model))
    _setattr(new, "__dict__", {**fields, name: value})
    _setattr(new, "__pydantic_fields_set__", model.__pydantic_fields_set__ | {name})
    _setattr(new, "__pydantic_extra__", None)
    _setattr(new, "__pydantic_private__", None)
    return new


_setattr = object.__setattr__
_REQUIRED: dict[type[BaseModel], bool] = {}


def _has_required(cls: type[BaseModel]) -> bool:
    """Whether a model class has a required field (it cannot be created empty)."""
    found = _REQUIRED.get(cls)
    if found is None:
        found = _REQUIRED[cls] = any(f.is_required() for f in cls.model_fields.values())
    return found


def _replace(model: BaseModel, tokens: tuple[str | int, ...], i: int, value: Any) -> Any:
    """A copy of `model` with the value at tokens[i:] set; None if the path does not exist
    in a valid way (as `_set` refuses it) or the value is refused; _LONG_ROAD if unsure."""
    tok = tokens[i]
    fields: dict[str, Any] = model.__dict__
    if not isinstance(tok, str) or tok not in fields:
        return _LONG_ROAD
    if i == len(tokens) - 1:
        stored = _field_value(type(model), tok, value)
        if stored is _INVALID:
            return None
        if stored is _LONG_ROAD:
            return _LONG_ROAD
        return _copy_with(model, fields, tok, stored)
    nxt = tokens[i + 1]
    child = fields[tok]
    if isinstance(nxt, int):
        if not isinstance(child, list) or nxt >= len(child) or i + 2 >= len(tokens):
            return None if child is None or isinstance(child, list) else _LONG_ROAD
        item = child[nxt]
        if not isinstance(item, BaseModel):
            return _LONG_ROAD
        new_item = _replace(item, tokens, i + 2, value)
        if new_item is None or new_item is _LONG_ROAD:
            return new_item
        items = list(child)
        items[nxt] = new_item
        return _copy_with(model, fields, tok, items)
    if child is None:
        sub = _submodel(type(model), tok)
        if sub is None or _has_required(sub):
            return _LONG_ROAD
        child = sub()
    elif not isinstance(child, BaseModel):
        return None
    new_child = _replace(child, tokens, i + 1, value)
    if new_child is None or new_child is _LONG_ROAD:
        return new_child
    return _copy_with(model, fields, tok, new_child)


def _status(outcome: dict[Key, OptionRecord], key: Key) -> str:
    r = outcome.get(key)
    if r is None:
        return ABSENT
    return r.status


def _same(status: str) -> str:
    """Not offered and not recommended give a tumour board the same answer."""
    return "not_recommended" if status == ABSENT else status


def _words(status: str) -> str:
    return status.replace("_", " ")


# `domain` of each path, per hints mapping (the pack set's, by identity, checked): the same
# few inputs are asked for across a batch, and working a domain out costs a regex and
# two look-ups.
_DOMAINS: dict[int, tuple[Mapping[str, Sequence[Any]], dict[str, tuple[Any, ...] | None]]] = {}


def _domains_for(hints: Mapping[str, Sequence[Any]]) -> dict[str, tuple[Any, ...] | None]:
    found = _DOMAINS.get(id(hints))
    if found is None or found[0] is not hints:
        if len(_DOMAINS) >= 16:
            _DOMAINS.clear()  # hints made per call (tests): keep only the recent ones
        found = _DOMAINS[id(hints)] = (hints, {})
    return found[1]


class _Grid:
    """Completed cases of one case, run once each and shared by every option asking."""

    def __init__(self, run: Run, hints: Mapping[str, Sequence[Any]]) -> None:
        self.run, self.hints = run, hints
        self.cache: dict[tuple[tuple[str, str], ...], Outcome] = {}
        self.budget = CASE_BUDGET
        self.known = _domains_for(hints)

    def domains(self, paths: Sequence[str]) -> list[tuple[Any, ...]] | None:
        known = self.known
        out = []
        for p in paths:
            if p in known:
                d = known[p]
            else:
                d = known[p] = domain(p, self.hints)
            if not d:
                return None
            out.append(d)
        return out

    def unrun(self, paths: Sequence[str], values: list[tuple[Any, ...]]) -> int:
        """How many completions of `paths` have not been run for this case yet."""
        cache = self.cache
        n = 0
        for combo in itertools.product(*(range(len(d)) for d in values)):
            pairs = [
                (p, repr(values[j][k])) for j, (p, k) in enumerate(zip(paths, combo, strict=True))
            ]
            if tuple(sorted(pairs)) not in cache:
                n += 1
        return n

    def outcomes(
        self, paths: Sequence[str], values: list[tuple[Any, ...]]
    ) -> list[tuple[tuple[int, ...], dict[Key, OptionRecord]]]:
        """(value indices, options) of every valid completion of `paths`."""
        out = []
        for combo in itertools.product(*(range(len(d)) for d in values)):
            assignment = tuple(
                (p, values[j][k]) for j, (p, k) in enumerate(zip(paths, combo, strict=True))
            )
            cache_key = tuple(sorted((p, repr(v)) for p, v in assignment))
            if cache_key not in self.cache:
                self.budget -= 1
                self.cache[cache_key] = self.run(assignment)
            outcome = self.cache[cache_key]
            if outcome is not None:
                out.append((combo, outcome))
        return out


def _settleable(record: OptionRecord) -> bool:
    """Blocked for lack of input, and not on purpose by a rule (an input that must exist
    before the option, e.g. histology before ablation, is never replaced by trying values)."""
    return (
        record.status == BLOCKED
        and bool(record.missing)
        and not any(c.status == BLOCKED and c.would_be is None for c in record.contributions)
    )


def _size(values: list[tuple[Any, ...]]) -> int:
    size = 1
    for d in values:
        size *= len(d)
    return size


def settle(
    records: list[OptionRecord], run: Run, hints: Mapping[str, Sequence[Any]]
) -> list[OptionRecord]:
    """Decide the blocked options that no value of their missing inputs could change.

    When the missing inputs of all blocked options together have few enough combinations,
    one grid over all of them is run and shared; otherwise each option gets its own.
    """
    grid = _Grid(run, hints)
    for r in records:
        required = [
            m
            for c in r.contributions
            if c.status == BLOCKED and c.would_be is None
            for m in c.missing
        ]
        if r.status == BLOCKED and required:
            # Blocked on purpose until a required input exists (e.g. histology before
            # ablation): that input is what to ask for; the others wait behind it.
            r.missing = list(dict.fromkeys(required))
    todo = [r for r in records if _settleable(r)]
    enumerable = [r for r in todo if grid.domains(r.missing) is not None]
    union = list(dict.fromkeys(m for r in enumerable for m in r.missing))
    union_values = grid.domains(union)
    shared: list[tuple[tuple[int, ...], dict[Key, OptionRecord]]] | None = None
    if union_values is not None and _size(union_values) <= min(GRID_LIMIT, grid.budget):
        shared = grid.outcomes(union, union_values)
    # Smallest grids first: within the budget, as many options as possible are examined.
    sizes: dict[int, int] = {}
    for r in todo:
        found = grid.domains(list(dict.fromkeys(r.missing)))
        sizes[id(r)] = GRID_LIMIT + 1 if found is None else _size(found)
    order = sorted(todo, key=lambda r: sizes[id(r)])
    settled: dict[int, OptionRecord | None] = {}
    for record in order:
        settled[id(record)] = _settle_one(record, grid, shared, union, union_values)
    out: list[OptionRecord] = []
    for record in records:
        if id(record) not in settled:
            out.append(record)
            continue
        result = settled[id(record)]
        if result is not None:
            out.append(result)
    return out


def _settle_one(
    record: OptionRecord,
    grid: _Grid,
    shared: list[tuple[tuple[int, ...], dict[Key, OptionRecord]]] | None,
    union: list[str],
    union_values: list[tuple[Any, ...]] | None,
) -> OptionRecord | None:
    """The record decided, still blocked (on its decisive inputs only), or None if the option
    is not offered whatever the inputs are."""
    if shared is not None and union_values is not None:
        paths, values, outcomes = union, union_values, shared
    else:
        paths = list(dict.fromkeys(record.missing))
        found = grid.domains(paths)
        # The budget is for completions still to run: those another option of the case
        # already ran cost nothing, and an answer they already give is never withheld.
        if found is None or _size(found) > GRID_LIMIT or grid.unrun(paths, found) > grid.budget:
            return record
        values, outcomes = found, grid.outcomes(paths, found)
    key: Key = (record.option, record.modality, record.target)
    results = [(combo, _status(o, key), o.get(key)) for combo, o in outcomes]
    if not results or any(s == BLOCKED for _c, s, _r in results):
        return record
    if len({_same(s) for _c, s, _r in results}) == 1:
        return _decided(record, results, list(dict.fromkeys(record.missing)))
    return _still_blocked(record, results, paths, values)


def _decided(
    record: OptionRecord,
    results: list[tuple[tuple[int, ...], str, OptionRecord | None]],
    missing: list[str],
) -> OptionRecord | None:
    shown = [r for _c, _s, r in results if r is not None]
    if not shown:
        return None  # not offered whatever the inputs are
    model = shown[0]
    flags = [f for f in model.flags if all(f in r.flags for r in shown)]
    # The completions' records may be shared with other runs (evaluate.py): copied, not kept.
    return OptionRecord(
        record.option,
        model.modality,
        record.target,
        _same(results[0][1]),
        model.strength,
        list(dict.fromkeys([*record.rule_ids, *model.rule_ids])),
        model.pack,
        f"{model.why} (holds whatever the value of {', '.join(missing)})",
        flags,
        model.verification,
        list(model.sources),
        list(model.counselling),
        (),
        record.contributions,
    )


# How a tried value is written in "cannot decide without" (as JSON unless a word), by type
# and value: the same few values are written for every blocked option of a batch.
_VALUE_TEXTS: dict[tuple[type, Any], str] = {}


def _value_text(raw: Any) -> str:
    if type(raw) not in _SCALARS:
        return raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
    key = (type(raw), raw)
    text = _VALUE_TEXTS.get(key)
    if text is None:
        text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
        if len(_VALUE_TEXTS) < 4096:
            _VALUE_TEXTS[key] = text
    return text


_SCALARS = frozenset((str, bool, int, float))


def _still_blocked(
    record: OptionRecord,
    results: list[tuple[tuple[int, ...], str, OptionRecord | None]],
    missing: list[str],
    values: list[tuple[Any, ...]],
) -> OptionRecord:
    by_combo = {c: _same(s) for c, s, _r in results}
    decisive: list[str] = []
    for j, path in enumerate(missing):
        # Combinations equal except in input j: if their statuses differ, j is decisive.
        seen: dict[tuple[int, ...], str] = {}
        for combo, status in by_combo.items():
            rest = combo[:j] + combo[j + 1 :]
            first = seen.setdefault(rest, status)
            if first != status:
                decisive.append(path)
                break
    if not decisive:
        decisive = missing
    effects: list[str] = []
    for path in decisive:
        j = missing.index(path)
        per_value: dict[str, list[str]] = {}
        for combo, status, _r in results:
            shown = _words(_same(status)) if status != ABSENT else ABSENT
            value = _value_text(values[j][combo[j]])
            words = per_value.setdefault(value, [])
            if shown not in words:
                words.append(shown)
        effects.append(
            f"{path}: " + "; ".join(f"{v} → {' or '.join(s)}" for v, s in per_value.items())
        )
    record.missing = decisive
    base = record.why.split(" — cannot decide without:")[0]
    record.why = f"{base} — cannot decide without: {' | '.join(effects)}"
    return record
