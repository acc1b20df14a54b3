"""Load, validate and compile the rule packs (packs/*.yaml) and the conflict register.

Why validate everything at start-up: a pack is clinical content; a misspelt option code, a
condition on a field that does not exist or a duplicated rule ID must stop the program with a
message naming pack, rule and field — not surface months later as a silently dead rule.
Packs are compiled once per process (`load_packs` is cached).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
PACK_ORDER = ("oncolex", "eau", "salvage")  # output order, as in design §3
EVAL_ORDER = ("eau", "salvage", "oncolex")  # graded guideline first, so its options list first
FLAG_PATTERN = r"^[a-z][a-z0-9_]*$"


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


@dataclass(frozen=True, eq=False)  # identity: compiled once per process, used as a cache key
class PackSet:
    packs: dict[str, Pack]
    conflicts: tuple[Conflict, ...]

    @functools.lru_cache(maxsize=16)  # noqa: B019 - a PackSet lives as long as the process
    def conflicts_for(self, pack_ids: tuple[str, ...]) -> tuple[Conflict, ...]:
        """The register entries whose packs are all active (§6 applies only then)."""
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
            errors.append(f"{where}: strength {r.strength!r} is not in clinical-spec §0.2 wording")
        for e in r.emit:
            strength = e.strength or r.strength
            if strength not in STRENGTHS:
                errors.append(f"{where}: strength {strength!r} is not in clinical-spec §0.2")
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


def load_from(directory: Path) -> PackSet:
    """Load every pack in a directory (files starting with `_` are not packs)."""
    packs: dict[str, Pack] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        pack = compile_pack(_read_yaml(path), path.name)
        if pack.id != path.stem:
            raise PackError(f"{path.name}: pack id {pack.id!r} must match the file name")
        packs[pack.id] = pack
    conflicts_path = directory / CONFLICTS_FILE.name
    conflicts = (
        compile_conflicts(_read_yaml(conflicts_path), packs) if conflicts_path.exists() else ()
    )
    return PackSet(packs, conflicts)


@functools.cache
def load_packs() -> PackSet:
    """The packs shipped with renalpath, loaded and compiled once per process."""
    return load_from(PACK_DIR)
