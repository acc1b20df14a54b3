"""The verdict of `fhir.resources` on a resource, without running it on every resource.

Validating one resource with `fhir.resources` (pydantic models) costs ≈ 0.4 ms of CPU; an
import of 100,000 patients holds ≈ 3.5 million resources, nearly all of a few dozen layouts.
`FastValidator.problem` gives the same answer as the full validation (`full`), cheaper:

* The *shape* of a resource is its structure without its values: every key, in order, the
  value's kind (object, list, or the JSON type of a scalar), recursively, and the value of
  every `resourceType` (it chooses the model class). Two resources of one shape differ only in
  their scalar values (the leaves).
* The first resource of a shape is validated in full. If it is valid, the model classes are
  walked along the resource to find, for every leaf, the annotation of the field that holds
  it (`Optional[Annotated[str, Code()]]`, an item of `List[DateTimeType]`, ...): the shape's
  *plan*, one check per leaf, each a pydantic `TypeAdapter` of that very annotation (with a
  bounded memory of the verdicts on values already seen: codes and systems repeat).
* A later resource of a planned shape is valid when every leaf passes its check. When one does
  not, or anything is unusual, the full validation runs and gives its own message, so a refused
  resource is refused with exactly today's words.

Why the verdicts agree (docs/fhir.md says it at length): a model validates each field's value
with the field's annotation alone (no validator of the installed models reads another field's
value), and its model-level validators (`reject_null_complex_elements`, required elements,
choice-type exclusivity, the primitive-extension rule, the resource type check) look only at
which keys are present, which are null, and at `resourceType`: all part of the shape. A valid
shape therefore stays valid for any leaf values that each pass their field's own validation,
and fails otherwise. Whatever the walk does not understand (a key that is a field name but not
its alias, a string where an element is expected, which the models parse as JSON, a union of
several types, unknown validators) makes the shape "always validate in full".
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any

Resource = dict[str, Any]

# The model-level validators whose inputs are part of the shape (see the module doc); a model
# with any other validator is always validated in full.
KNOWN_MODEL_VALIDATORS = frozenset(
    {
        "reject_null_complex_elements",
        "validate_after_model_construction",
        "validate_extension_or_fhir_comment_required",
    }
)
MAX_SHAPES = 20_000  # shapes remembered (a few dozen in a registry export)
MAX_VALUES = 500_000  # passing values remembered, then forgotten and learned again
NONE = type(None)
_SCALARS = frozenset({str, int, float, bool, NONE})
# The check of a null leaf: where a null stands is the shape's, already judged valid.
NULL_CHECK = 0


class _Unusual(Exception):
    """Something the fast path does not model: validate in full."""


class _ListShape:
    """Marks a list's shape (a tuple starting with it), so it never equals an object's."""


_LIST = _ListShape()
_RESOURCE_TYPE = "resourceType"


def _shape(node: dict[str, Any], leaves: list[Any]) -> tuple[Any, ...]:
    """The shape of an object (see the module doc), appending its leaves in document order."""
    out: list[Any] = []
    for key, value in node.items():
        kind = value.__class__
        if kind is dict:
            out.append((key, _shape(value, leaves)))
        elif kind is list:
            out.append((key, _list_shape(value, leaves)))
        elif kind in _SCALARS:
            if key == _RESOURCE_TYPE:
                out.append((key, _RESOURCE_TYPE, kind, value))
            else:
                leaves.append(value)
                out.append((key, kind))
        else:
            raise _Unusual
    return tuple(out)


def _list_shape(items: list[Any], leaves: list[Any]) -> tuple[Any, ...]:
    out: list[Any] = [_LIST]
    for value in items:
        kind = value.__class__
        if kind is dict:
            out.append(_shape(value, leaves))
        elif kind is list:
            out.append(_list_shape(value, leaves))
        elif kind in _SCALARS:
            leaves.append(value)
            out.append(kind)
        else:
            raise _Unusual
    return tuple(out)


def _make_test(annotation: Any) -> Callable[[Any], bool]:
    """Whether pydantic accepts a value for `annotation`, as the model's field does."""
    from pydantic import TypeAdapter

    validate = TypeAdapter(annotation).validate_python

    def test(value: Any) -> bool:
        try:
            validate(value)
        except Exception:  # whatever the model would raise: the full validation says
            return False
        return True

    return test


class _Field(typing.NamedTuple):
    is_list: bool
    model: Any  # a FhirBase type (an element or resource), or None for a primitive
    primitive: Any  # for a primitive: the whole annotation (scalar) or the list's item


def _unoptional(annotation: Any) -> Any:
    """`X` from `Optional[X]`; raises `_Unusual` for a union of several types."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(rest) != 1:
            raise _Unusual
        return rest[0]
    return annotation


class _Planner:
    """Walks model classes along a valid resource to give each leaf its check."""

    def __init__(self) -> None:
        from fhir_core.types import FhirBase, FhirElementOrResourceBase

        self._base = FhirBase
        self._element_or_resource = FhirElementOrResourceBase
        self._fields: dict[type, dict[str, _Field | None] | None] = {}
        self._ids: dict[Any, int] = {}
        # By check id: the test, and the JSON type of the values it is given.
        self.tests: list[Callable[[Any], bool]] = [lambda _value: True]
        self.kinds: list[type] = [NONE]

    def _check(self, annotation: Any, kind: type) -> int:
        """The id of the check of values of JSON type `kind` for `annotation`."""
        if kind is NONE:
            return NULL_CHECK
        try:
            key: Any = (annotation, kind)
            hash(key)
        except TypeError:  # an unhashable annotation: a check of its own
            key = (id(annotation), kind, len(self.tests))
        cid = self._ids.get(key)
        if cid is None:
            cid = self._ids[key] = len(self.tests)
            self.tests.append(_make_test(annotation))
            self.kinds.append(kind)
        return cid

    def _is_model(self, annotation: Any) -> bool:
        return isinstance(annotation, type) and issubclass(annotation, self._base)

    def _field(self, cls: type, key: str) -> _Field:
        """How field `key` (its JSON name, the alias) of model `cls` holds its value."""
        if cls not in self._fields:
            self._fields[cls] = self._table(cls)
        table = self._fields[cls]
        spec = table.get(key) if table is not None else None
        if spec is None:
            raise _Unusual  # not an alias of the model, or a field (or model) not modelled
        return spec

    def _table(self, cls: type) -> dict[str, _Field | None] | None:
        decorators = cls.__pydantic_decorators__  # type: ignore[attr-defined]
        if (
            set(decorators.model_validators) - KNOWN_MODEL_VALIDATORS
            or decorators.field_validators
            or decorators.validators
            or decorators.root_validators
        ):
            return None
        fields = cls.model_fields.items()  # type: ignore[attr-defined]
        return {info.alias or name: self._describe(info) for name, info in fields}

    def _describe(self, info: Any) -> _Field | None:
        if info.metadata:  # constraints outside the annotation: not modelled
            return None
        try:
            inner = _unoptional(info.annotation)
        except _Unusual:
            # A union of several types (`fhir_comments`): a scalar checked against it whole.
            return _Field(False, None, info.annotation)
        if typing.get_origin(inner) is list:
            (item,) = typing.get_args(inner)
            if self._is_model(item):
                return _Field(True, item, None)
            return _Field(True, None, item)
        if self._is_model(inner):
            return _Field(False, inner, None)
        return _Field(False, None, info.annotation)

    def _model_of(self, declared: Any, value: dict[str, Any]) -> type:
        """The model class that validates `value` for a field declared as `declared`."""
        if issubclass(declared, self._element_or_resource) and _RESOURCE_TYPE in value:
            from fhir_core.constraints import FHIR_TYPES_MAPS
            from pydantic._internal._validators import import_string

            name = value[_RESOURCE_TYPE]
            if not isinstance(name, str):
                raise _Unusual
            key = f"{declared._prefix}{name}Type"
            if key not in FHIR_TYPES_MAPS:
                raise _Unusual
            cls: type = import_string(FHIR_TYPES_MAPS[key])
            return cls
        model: type = declared.get_model_klass()
        return model

    def plan(self, res: Resource) -> tuple[int, ...] | None:
        """One check per leaf of `res`, in `_shape`'s order; None: always validate in full."""
        from fhir.resources.R4B import get_fhir_model_class

        checks: list[int] = []
        try:
            self._object(res, get_fhir_model_class(res[_RESOURCE_TYPE]), checks)
        except (_Unusual, KeyError, ValueError, TypeError):
            return None
        return tuple(checks)

    def _object(self, node: dict[str, Any], cls: type, checks: list[int]) -> None:
        for key, value in node.items():
            if key == _RESOURCE_TYPE:
                if value.__class__ in (dict, list):
                    raise _Unusual
                continue  # in the shape itself
            spec = self._field(cls, key)
            if value is None:
                checks.append(NULL_CHECK)
            elif isinstance(value, dict):
                if spec.is_list or spec.model is None:
                    raise _Unusual
                self._object(value, self._model_of(spec.model, value), checks)
            elif isinstance(value, list):
                if not spec.is_list:
                    raise _Unusual
                for item in value:
                    if item is None:
                        checks.append(NULL_CHECK)
                    elif isinstance(item, dict) and spec.model is not None:
                        self._object(item, self._model_of(spec.model, item), checks)
                    elif item.__class__ in _SCALARS and spec.primitive is not None:
                        checks.append(self._check(spec.primitive, item.__class__))
                    else:
                        raise _Unusual
            elif spec.is_list or spec.primitive is None or value.__class__ not in _SCALARS:
                raise _Unusual  # a scalar for a list, or a string the model would parse as JSON
            else:
                checks.append(self._check(spec.primitive, value.__class__))


_MISSING: Any = object()
HUGE = 2.0**63  # see `FastValidator.check`
# `_float_places` of a shape with a huge float as a `resourceType` value (never plain).
_HUGE_IN_SHAPE: tuple[int, ...] = (-1,)


def _float_places(shape: tuple[Any, ...], leaves: list[Any]) -> tuple[int, ...]:
    """Where the floats are among the leaves of a resource of this shape (the shape holds
    each leaf's JSON type, in leaf order); `_HUGE_IN_SHAPE` when a `resourceType` value, held
    in the shape itself, is a float of magnitude 2**63 or more."""

    def huge_type(node: Any) -> bool:
        if not isinstance(node, tuple):
            return False
        if len(node) == 4 and node[1] == _RESOURCE_TYPE and node[2] is float:
            return not -HUGE < node[3] < HUGE
        return any(huge_type(item) for item in node)

    if huge_type(shape):
        return _HUGE_IN_SHAPE
    return tuple(i for i, value in enumerate(leaves) if value.__class__ is float)


class _Known:
    """What `FastValidator` knows of one shape: the places of its float leaves (see
    `FastValidator.check`), its plan (`_MISSING` until a valid resource of the shape is seen;
    None: always validate in full), and whether it is remembered (`MAX_SHAPES`)."""

    __slots__ = ("floats", "plan", "remembered")

    def __init__(self, floats: tuple[int, ...]) -> None:
        self.floats = floats
        self.plan: tuple[int, ...] | None = _MISSING
        self.remembered = False


class FastValidator:
    """`problem(res)` == `full(res)` for every resource, `full` run only when needed."""

    def __init__(self, full: Callable[[Resource], str]) -> None:
        self._full = full
        # By shape, what is known of it (one lookup a resource: hashing and comparing a
        # shape costs as much as a fifth of the walk that made it).
        self._shapes: dict[tuple[Any, ...], _Known] = {}
        self._planner = _Planner()
        # (check id, value) pairs known to pass: a check's values all have one JSON type, so
        # equal values are identical inputs to pydantic (but see `_learn` for 0.0 and -0.0).
        self._passed: set[tuple[int, Any]] = set()
        self.fast = 0  # resources judged valid by their plan
        self.slow = 0  # resources validated in full

    def problem(self, res: Resource) -> str:
        """'' when `full` would accept `res`, else `full`'s own message."""
        return self.check(res)[0]

    def check(self, res: Resource) -> tuple[str, bool]:
        """(`problem(res)`, whether `res` is *plain*): plain when the shape walk saw every
        value and none is a float of magnitude 2**63 or more.

        A JSON decoder that turns an integer beyond 64 bits into a float (orjson does) can
        only give such a float (the integer's magnitude is at least 2**63, and rounding to
        the nearest float keeps it there), so a plain resource was decoded exactly. Cheap:
        which leaves are floats is part of the shape, so only they are looked at."""
        leaves: list[Any] = []
        try:
            shape = _shape(res, leaves)
        except (_Unusual, RecursionError):
            return self._slow(res), False
        known = self._shapes.get(shape)
        if known is None:
            known = _Known(_float_places(shape, leaves))
            if len(self._shapes) < MAX_SHAPES:
                self._shapes[shape] = known
                known.remembered = True
        floats = known.floats
        plain = floats is not _HUGE_IN_SHAPE and (
            not floats or all(-HUGE < leaves[i] < HUGE for i in floats)
        )
        plan = known.plan
        if plan is _MISSING:
            why = self._slow(res)
            # Only a valid shape is planned: a refused one is validated in full every time.
            if not why and known.remembered:
                plan = self._planner.plan(res)
                if plan is not None and len(plan) != len(leaves):
                    plan = None  # the walks disagree: never trust it
                known.plan = plan
            return why, plain
        if plan is None:
            return self._slow(res), plain
        passed = self._passed
        if not passed.issuperset(zip(plan, leaves, strict=True)):
            # The pairs not known yet (an id, a date: a few a resource), found by the set
            # operations rather than a loop over every leaf. Every one must pass; which
            # fails first does not matter, the full validation then gives the verdict.
            for pair in set(zip(plan, leaves, strict=True)).difference(passed):
                if not self._learn(pair):
                    return self._slow(res), plain
        self.fast += 1
        return "", plain

    def _learn(self, pair: tuple[int, Any]) -> bool:
        """Run check `pair[0]` on value `pair[1]`; remember a pass."""
        cid, value = pair
        if cid == NULL_CHECK:
            return value is None
        test = self._planner.tests[cid]
        ok = test(value)
        if ok and value.__class__ is float and value == 0.0:
            ok = test(0.0) and test(-0.0)  # equal, so one entry must stand for both
        if ok:
            if len(self._passed) >= MAX_VALUES:
                self._passed.clear()
            self._passed.add(pair)
        return ok

    def _slow(self, res: Resource) -> str:
        self.slow += 1
        return self._full(res)
