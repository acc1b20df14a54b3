"""The batch path (`recommend_many`) must say exactly what `recommend` says, case by case.

Why a corpus and not a few examples: the batch path is tuned for throughput (shared
validation, reused compiled packs), and a speed-up that changes one option's status on one
rare combination of inputs would go unnoticed by the vignette tests.  The corpus is the
vignettes plus a few hundred seeded random variations of them — fields dropped, replaced by
other values the JSON Schema allows, or whole sections regenerated — so rules, merges,
conflicts, missing-input handling, per-metastasis rules and follow-up plans are all hit.
Invalid variations are kept too: the batch must refuse them with the same problems.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import pytest

from renalpath.pathway import (
    CaseValidationError,
    RecommendResult,
    case_json_schema,
    recommend,
    recommend_many,
)

CASES = Path(__file__).parent / "cases"
TODAY = dt.date(2025, 6, 1)
SCHEMA = case_json_schema()
_UNITS = ("mg/dL", "µmol/L", "umol/L", "mmol/L")


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        resolved: dict[str, Any] = SCHEMA["$defs"][schema["$ref"].split("/")[-1]]
        return resolved
    return schema


def _non_null(schema: dict[str, Any]) -> dict[str, Any]:
    schema = _resolve(schema)
    if "anyOf" in schema:
        options = [_resolve(s) for s in schema["anyOf"] if s.get("type") != "null"]
        return options[0]
    return schema


def random_value(schema: dict[str, Any], rng: random.Random, depth: int = 0) -> Any:
    """A value the schema allows (dates kept in the past; sizes mostly clinically plausible)."""
    schema = _non_null(schema)
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        required = set(schema.get("required", ()))
        return {
            name: random_value(sub, rng, depth + 1)
            for name, sub in props.items()
            if name in required or rng.random() < 0.5
        }
    if kind == "array":
        return [random_value(schema["items"], rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "integer":
        low, high = int(schema.get("minimum", 0)), int(schema.get("maximum", 400))
        step = int(schema.get("multipleOf", 1))
        if high > 200 and rng.random() < 0.8:
            high = min(high, 120)  # most sizes/counts small, some at the edge of the range
        return (
            rng.randrange(low - low % step, high + 1, step) if step > 1 else rng.randint(low, high)
        )
    if kind == "number":
        floor = float(schema.get("minimum", schema.get("exclusiveMinimum", 0)))
        ceiling = float(schema.get("maximum", 10))
        return round(rng.uniform(floor + 0.01, ceiling), 1)
    if schema.get("format") == "date":
        return (dt.date(2015, 1, 1) + dt.timedelta(days=rng.randint(0, 3650))).isoformat()
    return rng.choice(_UNITS)


def _mutate(node: Any, schema: dict[str, Any], rng: random.Random) -> Any:
    """Drop, replace or keep each field of `node`, recursing into objects and lists."""
    schema = _non_null(schema)
    if isinstance(node, dict) and schema.get("type") == "object":
        props = schema.get("properties", {})
        out: dict[str, Any] = {}
        for name, value in node.items():
            roll = rng.random()
            if roll < 0.08 and name not in schema.get("required", ()):
                continue
            if roll < 0.2:
                out[name] = random_value(props[name], rng)
            else:
                out[name] = _mutate(value, props[name], rng)
        for name, sub in props.items():
            if name not in out and rng.random() < 0.05:
                out[name] = random_value(sub, rng)
        return out
    if isinstance(node, list) and schema.get("type") == "array":
        items = [_mutate(v, schema["items"], rng) for v in node]
        if rng.random() < 0.2:
            items.append(random_value(schema["items"], rng))
        return items
    return node


def vignettes() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(CASES.glob("v*.json"))]


def corpus(n: int = 400, seed: int = 20250601) -> list[dict[str, Any]]:
    """The vignettes and `n` seeded variations of them (some invalid on purpose)."""
    rng = random.Random(seed)
    base = vignettes()
    out = copy.deepcopy(base)
    for _ in range(n):
        case = _mutate(copy.deepcopy(rng.choice(base)), SCHEMA, rng)
        if rng.random() < 0.3:
            case.pop("as_of", None)  # let `today` decide the dates
        out.append(case)
    return out


def as_json(outcome: RecommendResult | CaseValidationError) -> str:
    if isinstance(outcome, CaseValidationError):
        return json.dumps({"refused": [p.__dict__ for p in outcome.problems]}, default=str)
    return json.dumps(outcome.to_dict(), sort_keys=True, default=str)


def one_by_one(
    cases: list[dict[str, Any]], packs: list[str] | None
) -> list[RecommendResult | CaseValidationError]:
    out: list[RecommendResult | CaseValidationError] = []
    for case in cases:
        try:
            out.append(recommend(case, packs, today=TODAY))
        except CaseValidationError as err:
            out.append(err)
    return out


CORPUS = corpus()


def test_corpus_is_varied() -> None:
    # Guard against a generator that silently produces only refusals or only one route.
    outcomes = recommend_many(CORPUS, today=TODAY)
    valid = [o for o in outcomes if isinstance(o, RecommendResult)]
    assert len(valid) >= 200
    assert len(valid) < len(outcomes)  # some refusals are exercised too
    statuses = {o.status for r in valid for o in r.options}
    assert statuses == {
        "recommended",
        "alternative",
        "discuss",
        "not_recommended",
        "blocked_missing_input",
    }
    assert sum(1 for r in valid if r.followup is not None) >= 20
    assert sum(1 for r in valid if any(o.target for o in r.options)) >= 20
    assert sum(1 for r in valid if r.conflicts) >= 20


@pytest.mark.parametrize("packs", [None, ["oncolex"], ["eau", "salvage"]])
def test_batch_gives_exactly_what_single_case_gives(packs: list[str] | None) -> None:
    batch = recommend_many(CORPUS, packs, today=TODAY)
    single = one_by_one(CORPUS, packs)
    assert len(batch) == len(single) == len(CORPUS)
    for i, (b, s) in enumerate(zip(batch, single, strict=True)):
        assert as_json(b) == as_json(s), f"corpus case {i} differs: {json.dumps(CORPUS[i])}"


def test_batch_accepts_validated_models_and_iterators() -> None:
    # The audit may hand over already-parsed Case objects or a generator; same answers.
    from renalpath.pathway import parse_case

    valid = [c for c in CORPUS[:80] if isinstance(one_by_one([c], None)[0], RecommendResult)]
    models = [parse_case(c, TODAY) for c in valid]
    from_models = recommend_many(iter(models), today=TODAY)
    from_dicts = recommend_many(valid, today=TODAY)
    assert [as_json(r) for r in from_models] == [as_json(r) for r in from_dicts]


def test_fast_and_explaining_condition_forms_agree() -> None:
    # Every condition has a fast `test` and an `explain` (conditions.py); the engine
    # trusts `test` and runs `explain` only on unknown, so they must answer alike —
    # and `explain` must name missing inputs exactly when the answer is unknown.
    from renalpath.pathway import parse_case
    from renalpath.pathway.conditions import Env
    from renalpath.pathway.derive import derive
    from renalpath.pathway.loader import load_packs

    packset = load_packs()
    conditions = [
        (rule.spec.for_each is not None, cond)
        for pack in packset.packs.values()
        for rule in pack.rules
        for cond in (rule.scope, rule.when, *(e.when for e in rule.emits))
    ] + [(False, c.when) for c in packset.conflicts]
    checked = unknown = 0
    for case in CORPUS:
        try:
            d = derive(parse_case(case, TODAY), TODAY)
        except CaseValidationError:
            continue
        env = Env(d.values, d.missing, {}, d.items)
        for per_item, cond in conditions:
            for item in (d.items or []) if per_item else [None]:
                env.item = item
                miss: list[str] = []
                answer = cond.test(env)
                assert answer == cond.explain(env, miss)
                if answer is not None:
                    assert not miss
                checked += 1
                unknown += answer is None
    assert checked > 10_000 and unknown > 100


def test_shared_verdicts_are_never_edited_by_a_conflict() -> None:
    # Verdicts are built once and shared by every result (plan.py); the conflict register
    # (C1: Oncolex cytoreduction → discuss beside EAU) must replace them, not edit them, or
    # a later Oncolex-only run would inherit the EAU-era status.
    v10 = json.loads((CASES / "v10_m1_good_ps_no_systemic.json").read_text())
    before = recommend(v10, ["oncolex"], today=TODAY)
    merged = recommend(v10, today=TODAY)
    after = recommend(v10, ["oncolex"], today=TODAY)
    verdicts = [c for o in merged.options for c in o.contributions]
    restated = [c for c in verdicts if (c.conflict_note or "").startswith("C1:")]
    assert restated and all(c.status == "discuss" for c in restated)
    assert as_json(after) == as_json(before)
    assert not any(c.conflict_note for o in after.options for c in o.contributions)
