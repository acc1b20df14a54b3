"""Load, validate and compile the rule packs (packs/*.yaml) and the files that bind them.

Besides the packs, the folder holds the pack set (`_packset.yaml`: which packs exist, their
precedence and display order), the conflict register (`_conflicts.yaml`), the safety gates
(`_gates.yaml`: contraindications applied whatever packs are chosen) and the choice groups
(`_choice_groups.yaml`: options that exclude each other for one target).

Why validate everything at start-up: a pack is clinical content; a misspelt option code, a
condition on a field that does not exist or a duplicated rule ID must stop the program with a
message naming pack, rule and field — not surface months later as a silently dead rule.
Packs are compiled once per process (`load_packs` is cached).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from renalpath.errors import UnknownPack
from renalpath.pathway.case import case_fields
from renalpath.pathway.conditions import (
    CompileContext,
    Condition,
    PackError,
    compile_condition,
)
from renalpath.pathway.derive import DERIVED_FIELDS, ITEM_DERIVED_FIELDS
from renalpath.pathway.vocabulary import (
    MODALITY_OPTIONS,
    STRENGTHS,
    Modality,
    OptionCode,
    Status,
    Verification,
)

PACK_DIR = Path(__file__).resolve().parent / "packs"
CONFLICTS_FILE = PACK_DIR / "_conflicts.yaml"
PACKSET_FILE = "_packset.yaml"
GATES_FILE = "_gates.yaml"
GROUPS_FILE = "_choice_groups.yaml"
FLAG_PATTERN = r"^[a-z][a-z0-9_]*$"


class UnknownPackError(UnknownPack, ValueError):
    """`recommend` was asked for a pack id that is not in the pack set."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSpec(_Strict):
    title: str = Field(min_length=1)
    section: str = ""
    url: str = ""


class EmitSpec(_Strict):
    option: OptionCode
    status: Status
    when: Any = True
    modality: Modality | None = None
    strength: str | None = None
    why: str | None = None
    flags: list[str] = Field(default_factory=list)
    case_flags: list[str] = Field(default_factory=list)
    counselling: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    annotate: bool = False


class RuleSpec(_Strict):
    id: str = Field(pattern=r"^[A-Z]+(-[A-Za-z0-9]+)+$")
    title: str
    node: str
    scope: Any = True
    when: Any = True
    for_each: Literal["metastases"] | None = None
    inputs: list[str] = Field(min_length=1)
    emit: list[EmitSpec] = Field(default_factory=list)
    case_flags: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    strength: str
    strength_tag: Verification | None = None
    verification: Verification
    why: str = Field(min_length=10)
    sources: list[SourceSpec] = Field(min_length=1)


class PackSpec(_Strict):
    id: str
    version: str
    title: str
    description: str = ""
    anchors: Any = Field(None, alias="x-defaults")  # YAML anchors only; not read
    rules: list[RuleSpec]


class ConflictSpec(_Strict):
    id: str
    packs: list[str] = Field(min_length=1)
    note: str
    rules: list[str] = Field(default_factory=list)
    set_status: Status | None = None
    when: Any = True


class ConflictFile(_Strict):
    conflicts: list[ConflictSpec]


class PackEntry(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    why_here: str = ""


class PackSetFile(_Strict):
    packs: list[PackEntry] = Field(min_length=1)
    display_order: list[str]
    input_values: dict[str, list[int | float]] = Field(default_factory=dict)


class GateSpec(_Strict):
    id: str = Field(pattern=r"^GATE-[A-Z0-9-]+$")
    title: str
    when: Any
    options: list[OptionCode]
    max_status: Status | None = None
    flags: list[str] = Field(default_factory=list)
    case_flags: list[str] = Field(default_factory=list)
    strength: str
    verification: Verification
    why: str = Field(min_length=10)
    sources: list[SourceSpec] = Field(min_length=1)


class SiteModalitySpec(_Strict):
    options: list[OptionCode] = Field(min_length=1)
    lacking_status: Status
    flag: str
    why: str = Field(min_length=10)


class GatesFile(_Strict):
    gates: list[GateSpec]
    site_modalities: SiteModalitySpec | None = None


class GroupSpec(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    options: list[OptionCode] = Field(min_length=2)
    specific: list[str] = Field(default_factory=list)


class GroupsFile(_Strict):
    groups: list[GroupSpec]
    same_as: dict[OptionCode, OptionCode] = Field(default_factory=dict)
    follows: dict[OptionCode, OptionCode] = Field(default_factory=dict)


@dataclass(frozen=True)
class Emit:
    """One compiled emit; the spec's fields are copied out so evaluation reads plain slots."""

    spec: EmitSpec
    when: Condition
    strength: str
    why: str
    option: str = ""
    modality: str | None = None
    status: str = ""
    flags: tuple[str, ...] = ()
    case_flags: tuple[str, ...] = ()
    counselling: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    annotate: bool = False

    @classmethod
    def build(cls, spec: EmitSpec, when: Condition, strength: str, why: str) -> Emit:
        return cls(
            spec,
            when,
            strength,
            why,
            spec.option,
            spec.modality,
            spec.status,
            tuple(spec.flags),
            tuple(spec.case_flags),
            tuple(spec.counselling),
            tuple(spec.missing),
            spec.annotate,
        )


@dataclass(frozen=True)
class Rule:
    spec: RuleSpec
    pack: str
    scope: Condition
    when: Condition
    emits: tuple[Emit, ...]
    sources: tuple[dict[str, str], ...]
    needs_verification: bool
    gate: str | None = None  # a derived yes/no that, when false, makes the scope false
    # The scope once the gate is known true (`{all: [gate, *rest]}` → rest), if that simple.
    scope_after_gate: Condition | None = None
    scope_after_gate_spec: Any = None

    @property
    def id(self) -> str:
        return self.spec.id


def _after_gate(scope: Any, gate: str | None) -> Any:
    """What is left of a scope when its gate is true; None when it is not that simple."""
    if gate is None:
        return None
    if scope == {"is_true": gate}:
        return True
    parts = scope.get("all") if isinstance(scope, dict) and len(scope) == 1 else None
    if isinstance(parts, list) and parts and parts[0] == {"is_true": gate}:
        rest = parts[1:]
        return True if not rest else rest[0] if len(rest) == 1 else {"all": rest}
    return None


def _gate(scope: Any) -> str | None:
    """The leading `is_true: derived.X` of a scope, so evaluation can skip a rule cheaply."""
    if isinstance(scope, dict) and len(scope) == 1:
        ((op, args),) = scope.items()
        if op == "is_true" and isinstance(args, str) and args.startswith("derived."):
            return args
        if op == "all" and isinstance(args, list) and args:
            return _gate(args[0])
    return None


@dataclass(frozen=True)
class Pack:
    id: str
    version: str
    title: str
    rules: tuple[Rule, ...]

    @functools.cached_property
    def blocks(self) -> tuple[tuple[str | None, tuple[Rule, ...]], ...]:
        """Runs of consecutive rules sharing a gate, so a false gate skips the run at once."""
        out: list[tuple[str | None, list[Rule]]] = []
        for rule in self.rules:
            if out and out[-1][0] == rule.gate:
                out[-1][1].append(rule)
            else:
                out.append((rule.gate, [rule]))
        return tuple((gate, tuple(rules)) for gate, rules in out)


@dataclass(frozen=True)
class Conflict:
    spec: ConflictSpec
    when: Condition


@dataclass(frozen=True)
class Gate:
    spec: GateSpec
    when: Condition
    options: frozenset[str]
    sources: tuple[dict[str, str], ...]


@dataclass(frozen=True)
class Gates:
    """The safety gates and the site-modality rule, compiled."""

    gates: tuple[Gate, ...] = ()
    site: SiteModalitySpec | None = None


@dataclass(frozen=True)
class Groups:
    """Choice groups: option → the groups it belongs to, and the option aliases."""

    groups: tuple[GroupSpec, ...] = ()
    same_as: dict[str, str] = dataclasses.field(default_factory=dict)
    follows: dict[str, str] = dataclasses.field(default_factory=dict)

    @functools.cached_property
    def members(self) -> tuple[dict[str, int], ...]:
        """Per group: option → its place in the group (worked out once)."""
        return tuple({str(o): i for i, o in enumerate(g.options)} for g in self.groups)


@dataclass(frozen=True, eq=False)  # identity: compiled once per process, used as a cache key
class PackSet:
    packs: dict[str, Pack]
    conflicts: tuple[Conflict, ...]
    order: tuple[str, ...] = ()  # precedence (and evaluation) order: first decides
    display_order: tuple[str, ...] = ()  # order of the packs in a result
    gates: Gates = dataclasses.field(default_factory=Gates)
    groups: Groups = dataclasses.field(default_factory=Groups)
    # Values to try for a missing number, one in each band the rules distinguish (settle.py).
    input_values: dict[str, tuple[int | float, ...]] = dataclasses.field(default_factory=dict)

    def select(self, pack_ids: Sequence[str] | None) -> tuple[str, ...]:
        """The chosen packs in precedence order (all when none are named).

        Raises UnknownPackError for an id that is not in the pack set: asking for a pack
        that does not exist must never quietly give an empty answer.
        """
        if not pack_ids:
            return self.order
        unknown = [p for p in pack_ids if p not in self.packs]
        if unknown:
            raise UnknownPackError(
                f"unknown pack(s): {', '.join(unknown)}; known: {', '.join(self.order)}"
            )
        return tuple(p for p in self.order if p in pack_ids)

    @functools.lru_cache(maxsize=16)  # noqa: B019 - a PackSet lives as long as the process
    def conflicts_for(self, pack_ids: tuple[str, ...]) -> tuple[Conflict, ...]:
        """The register entries whose packs are all active (an entry applies only then)."""
        return tuple(c for c in self.conflicts if all(p in pack_ids for p in c.spec.packs))


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise PackError(f"{path.name}: cannot read: {err}") from err


def _schema_errors(name: str, err: ValidationError, raw: Any = None) -> list[str]:
    """One line per problem, naming the rule ID (not just its index) and the offending value."""
    out = []
    rules = raw.get("rules") if isinstance(raw, dict) else None
    for e in err.errors():
        loc = list(e["loc"])
        where = ".".join(str(p) for p in loc)
        if (
            len(loc) >= 2
            and loc[0] == "rules"
            and isinstance(loc[1], int)
            and isinstance(rules, list)
        ):
            r = rules[loc[1]] if loc[1] < len(rules) else None
            rid = r.get("id") if isinstance(r, dict) else None
            where = f"rule {rid or loc[1]}: " + ".".join(str(p) for p in loc[2:])
        what = "unknown field" if e["type"] == "extra_forbidden" else e["msg"]
        out.append(f"{name}: {where}: {what} (got {e.get('input')!r})")
    return out


def _compile(spec: Any, ctx: CompileContext, name: str) -> Condition:
    """Validate and compile a condition into closures (pack data is never turned into code)."""
    return compile_condition(spec, ctx)


def _fields() -> dict[str, Any]:
    return {**case_fields(), **DERIVED_FIELDS, **ITEM_DERIVED_FIELDS}


def compile_pack(raw: Any, name: str) -> Pack:
    """Validate one pack's data and compile its conditions; raise PackError with every problem."""
    try:
        spec = PackSpec.model_validate(raw)
    except ValidationError as err:
        raise PackError("\n".join(_schema_errors(name, err, raw))) from None
    errors: list[str] = []
    fields = _fields()
    all_ids = [r.id for r in spec.rules]
    dupes = sorted({i for i in all_ids if all_ids.count(i) > 1})
    if dupes:
        errors.append(f"{name}: duplicate rule IDs: {', '.join(dupes)}")
    rules: list[Rule] = []
    earlier: set[str] = set()
    flag_re = re.compile(FLAG_PATTERN)
    for r in spec.rules:
        where = f"{name}: rule {r.id}"
        ctx = CompileContext(
            fields,
            where,
            frozenset(earlier),
            frozenset(all_ids),
            allow_items=r.for_each is not None,
            errors=errors,
        )
        for path in r.inputs:
            if path not in fields and path not in ("pathology", "prior_treatment", "metastases"):
                errors.append(f"{where}: input {path!r} is not a case or derived field")
            if path.startswith("met.") and r.for_each is None:
                errors.append(f"{where}: input {path!r} needs for_each: metastases")
        scope = _compile(r.scope, ctx, f"{r.id} scope")
        when = _compile(r.when, ctx, f"{r.id} when")
        emits: list[Emit] = []
        if r.strength not in STRENGTHS:
            errors.append(f"{where}: strength {r.strength!r} is not one of the stored wordings")
        for e in r.emit:
            strength = e.strength or r.strength
            if strength not in STRENGTHS:
                errors.append(f"{where}: strength {strength!r} is not one of the stored wordings")
            if e.modality is not None and e.option not in MODALITY_OPTIONS:
                errors.append(f"{where}: modality only applies to thermal/repeat ablation")
            if e.option in MODALITY_OPTIONS and e.modality is None:
                errors.append(f"{where}: {e.option} needs a modality (cryo|rfa|mwa|any)")
            if e.missing and e.status != "blocked_missing_input":
                errors.append(f"{where}: `missing` only with status blocked_missing_input")
            if e.status == "blocked_missing_input" and not e.missing:
                errors.append(f"{where}: blocked_missing_input must name `missing` inputs")
            for m in e.missing:
                if m not in fields:
                    errors.append(f"{where}: missing input {m!r} is not a case field")
            for f in (*e.flags, *e.case_flags):
                if not flag_re.match(f):
                    errors.append(f"{where}: flag {f!r} must be snake_case")
            emits.append(
                Emit.build(e, _compile(e.when, ctx, f"{r.id} emit"), strength, e.why or r.why)
            )
        for f in r.case_flags:
            if not flag_re.match(f):
                errors.append(f"{where}: flag {f!r} must be snake_case")
        sources = tuple({"title": s.title, "section": s.section, "url": s.url} for s in r.sources)
        needs_verification = r.verification == "R" or r.strength_tag == "R"
        gate = _gate(r.scope)
        rest = _after_gate(r.scope, gate)
        rules.append(
            Rule(
                r,
                spec.id,
                scope,
                when,
                tuple(emits),
                sources,
                needs_verification,
                gate,
                None if rest is None else _compile(rest, ctx, f"{r.id} scope"),
                rest,
            )
        )
        earlier.add(r.id)
    if errors:
        raise PackError("\n".join(errors))
    return Pack(spec.id, spec.version, spec.title, tuple(rules))


def compile_conflicts(raw: Any, packs: dict[str, Pack]) -> tuple[Conflict, ...]:
    try:
        spec = ConflictFile.model_validate(raw)
    except ValidationError as err:
        raise PackError("\n".join(_schema_errors(CONFLICTS_FILE.name, err))) from None
    errors: list[str] = []
    rule_ids = {r.spec.id for p in packs.values() for r in p.rules}
    out = []
    for c in spec.conflicts:
        where = f"{CONFLICTS_FILE.name}: {c.id}"
        ctx = CompileContext(_fields(), where, errors=errors)
        for p in c.packs:
            if p not in packs:
                errors.append(f"{where}: unknown pack {p!r}")
        for r in c.rules:
            if r not in rule_ids:
                errors.append(f"{where}: unknown rule {r!r}")
        out.append(Conflict(c, _compile(c.when, ctx, c.id)))
    if errors:
        raise PackError("\n".join(errors))
    return tuple(out)


_Order = tuple[tuple[str, ...], tuple[str, ...], dict[str, tuple[int | float, ...]]]


def _read_packset(directory: Path, found: list[str]) -> _Order:
    """Precedence and display order from the pack-set file; without one, the files found."""
    path = directory / PACKSET_FILE
    if not path.exists():
        return tuple(found), tuple(found), {}
    try:
        spec = PackSetFile.model_validate(_read_yaml(path))
    except ValidationError as err:
        raise PackError("\n".join(_schema_errors(PACKSET_FILE, err))) from None
    order = tuple(p.id for p in spec.packs)
    errors = []
    if len(set(order)) != len(order):
        errors.append(f"{PACKSET_FILE}: a pack is listed twice")
    for pid in found:
        if pid not in order:
            errors.append(f"{pid}.yaml: pack {pid!r} is not in the pack set ({PACKSET_FILE})")
    for pid in order:
        if pid not in found:
            errors.append(f"{PACKSET_FILE}: pack {pid!r} has no file {pid}.yaml")
    if sorted(spec.display_order) != sorted(order):
        errors.append(f"{PACKSET_FILE}: display_order must list exactly the packs")
    fields = case_fields()
    for name, listed in spec.input_values.items():
        kind = fields.get(name.replace("metastases[].", "met."))
        if kind is None or kind.kind != "number":
            errors.append(f"{PACKSET_FILE}: input_values: {name!r} is not a number field")
        if not listed:
            errors.append(f"{PACKSET_FILE}: input_values: {name!r} needs values")
    if errors:
        raise PackError("\n".join(errors))
    values = {k: tuple(v) for k, v in spec.input_values.items()}
    return order, tuple(spec.display_order), values


def compile_gates(raw: Any, name: str = GATES_FILE) -> Gates:
    """Validate and compile the safety gates; raise PackError with every problem."""
    try:
        spec = GatesFile.model_validate(raw)
    except ValidationError as err:
        raise PackError("\n".join(_schema_errors(name, err))) from None
    errors: list[str] = []
    flag_re = re.compile(FLAG_PATTERN)
    ids = [g.id for g in spec.gates]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        errors.append(f"{name}: duplicate gate IDs: {', '.join(dupes)}")
    gates = []
    for g in spec.gates:
        where = f"{name}: {g.id}"
        ctx = CompileContext(_fields(), where, errors=errors)
        if g.strength not in STRENGTHS:
            errors.append(f"{where}: strength {g.strength!r} is not one of the stored wordings")
        if g.max_status == "blocked_missing_input":
            errors.append(f"{where}: max_status cannot be blocked_missing_input")
        if not g.options and (g.max_status or g.flags):
            errors.append(f"{where}: max_status and flags need options")
        if not g.options and not g.case_flags:
            errors.append(f"{where}: a gate without options must set case_flags")
        for f in (*g.flags, *g.case_flags):
            if not flag_re.match(f):
                errors.append(f"{where}: flag {f!r} must be snake_case")
        sources = tuple({"title": s.title, "section": s.section, "url": s.url} for s in g.sources)
        gates.append(Gate(g, _compile(g.when, ctx, g.id), frozenset(g.options), sources))
    site = spec.site_modalities
    if site is not None:
        if not flag_re.match(site.flag):
            errors.append(f"{name}: site_modalities.flag {site.flag!r} must be snake_case")
        for o in site.options:
            if o not in MODALITY_OPTIONS:
                errors.append(f"{name}: site_modalities: {o} has no modality")
        if site.lacking_status in ("recommended", "alternative", "blocked_missing_input"):
            errors.append(f"{name}: site_modalities.lacking_status must be discuss or lower")
    if errors:
        raise PackError("\n".join(errors))
    return Gates(tuple(gates), site)


def compile_groups(raw: Any, packs: dict[str, Pack], name: str = GROUPS_FILE) -> Groups:
    """Validate the choice groups; raise PackError with every problem."""
    try:
        spec = GroupsFile.model_validate(raw)
    except ValidationError as err:
        raise PackError("\n".join(_schema_errors(name, err))) from None
    errors: list[str] = []
    rule_ids = {r.spec.id for p in packs.values() for r in p.rules}
    seen: set[str] = set()
    for g in spec.groups:
        if g.id in seen:
            errors.append(f"{name}: duplicate group {g.id}")
        seen.add(g.id)
        if len(set(g.options)) != len(g.options):
            errors.append(f"{name}: {g.id}: an option is listed twice")
        for r in g.specific:
            if r not in rule_ids:
                errors.append(f"{name}: {g.id}: unknown rule {r!r}")
    for a, b in (*spec.same_as.items(), *spec.follows.items()):
        if a == b:
            errors.append(f"{name}: {a} cannot refer to itself")
    if errors:
        raise PackError("\n".join(errors))
    same_as: dict[str, str] = {str(k): str(v) for k, v in spec.same_as.items()}
    follows: dict[str, str] = {str(k): str(v) for k, v in spec.follows.items()}
    return Groups(tuple(spec.groups), same_as, follows)


def load_from(directory: Path) -> PackSet:
    """Load every pack in a directory (files starting with `_` are not packs) and the files
    that bind them; a pack file not in the pack set is refused."""
    packs: dict[str, Pack] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        pack = compile_pack(_read_yaml(path), path.name)
        if pack.id != path.stem:
            raise PackError(f"{path.name}: pack id {pack.id!r} must match the file name")
        packs[pack.id] = pack
    order, display, values = _read_packset(directory, list(packs))
    conflicts_path = directory / CONFLICTS_FILE.name
    conflicts = (
        compile_conflicts(_read_yaml(conflicts_path), packs) if conflicts_path.exists() else ()
    )
    gates_path = directory / GATES_FILE
    gates = compile_gates(_read_yaml(gates_path)) if gates_path.exists() else Gates()
    groups_path = directory / GROUPS_FILE
    groups = compile_groups(_read_yaml(groups_path), packs) if groups_path.exists() else Groups()
    return PackSet(packs, conflicts, order, display, gates, groups, values)


@functools.cache
def load_packs() -> PackSet:
    """The packs shipped with renalpath, loaded and compiled once per process."""
    return load_from(PACK_DIR)
