"""Pathway engine speed: one case in-process (target median ≤ 1 ms) and a batch on one core
(target ≥ 10,000 cases/s).  Packs are loaded once before timing, as in a real process.

The engine's hot modules run compiled when `make install` built them (setup.py); the first
line printed says which engine was timed.  `RENALPATH_PURE_PYTHON=1` times the source.

Why two batch figures: the 14 vignettes repeated 357 times flatter every cache (calculator
memos, pydantic's and CPython's own), so the batch is also timed on a corpus of 2,000
*distinct* valid cases, generated here from a fixed seed by varying the vignettes (fields
dropped, replaced by other values the case schema allows, sections regenerated) — the kind
of spread a registry audit sees.  The JSON figure times what the web app and the CLI do
after `recommend`: `to_dict()` and `json.dumps` of every result.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import time
from pathlib import Path
from typing import Any

from harness import Figure, measure, report

from renalpath.pathway import (
    NATIVE_STATUS,
    CaseValidationError,
    RecommendResult,
    case_json_schema,
    parse_case,
    recommend,
    recommend_many,
)
from renalpath.pathway.loader import load_packs

CASES = Path(__file__).resolve().parents[1] / "tests" / "pathway" / "cases"
TODAY = dt.date(2025, 6, 1)  # fixed, so the corpus and its dates do not drift with the clock
CORPUS_SIZE = 2000
SEED = 20251122
_UNITS = ("mg/dL", "µmol/L")


class _Generator:
    """Values the case JSON Schema allows, and seeded variations of a case."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.schema = case_json_schema()

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in schema:
            target: dict[str, Any] = self.schema["$defs"][schema["$ref"].split("/")[-1]]
            return target
        if "anyOf" in schema:
            return self._resolve(next(s for s in schema["anyOf"] if s.get("type") != "null"))
        return schema

    def value(self, schema: dict[str, Any]) -> Any:
        rng, schema = self.rng, self._resolve(schema)
        if "enum" in schema:
            return rng.choice(schema["enum"])
        kind = schema.get("type")
        if kind == "object":
            required = set(schema.get("required", ()))
            return {
                name: self.value(sub)
                for name, sub in schema.get("properties", {}).items()
                if name in required or rng.random() < 0.5
            }
        if kind == "array":
            return [self.value(schema["items"]) for _ in range(rng.randint(0, 3))]
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "integer":
            low, high = int(schema.get("minimum", 0)), int(schema.get("maximum", 400))
            step = int(schema.get("multipleOf", 1))
            high = min(high, 120) if high > 200 and rng.random() < 0.8 else high
            return rng.randrange(low - low % step, high + 1, step)
        if kind == "number":
            floor = float(schema.get("minimum", schema.get("exclusiveMinimum", 0)))
            return round(rng.uniform(floor + 0.01, float(schema.get("maximum", 10))), 1)
        if schema.get("format") == "date":
            return (dt.date(2015, 1, 1) + dt.timedelta(days=rng.randint(0, 3650))).isoformat()
        return rng.choice(_UNITS)

    def vary(self, node: Any, schema: dict[str, Any]) -> Any:
        rng, schema = self.rng, self._resolve(schema)
        if isinstance(node, dict) and schema.get("type") == "object":
            props, required = schema.get("properties", {}), schema.get("required", ())
            out: dict[str, Any] = {}
            for name, value in node.items():
                roll = rng.random()
                if roll < 0.08 and name not in required:
                    continue
                out[name] = self.value(props[name]) if roll < 0.2 else self.vary(value, props[name])
            for name, sub in props.items():
                if name not in out and rng.random() < 0.05:
                    out[name] = self.value(sub)
            return out
        if isinstance(node, list) and schema.get("type") == "array":
            items = [self.vary(v, schema["items"]) for v in node]
            return [*items, self.value(schema["items"])] if rng.random() < 0.2 else items
        return node


def varied_corpus(vignettes: list[dict[str, Any]], size: int = CORPUS_SIZE) -> list[dict[str, Any]]:
    """`size` distinct cases that pass validation on TODAY (invalid variations are skipped)."""
    gen = _Generator(random.Random(SEED))
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    while len(out) < size:
        case = gen.vary(copy.deepcopy(gen.rng.choice(vignettes)), gen.schema)
        key = json.dumps(case, sort_keys=True)
        if key in seen:
            continue
        try:
            parse_case(case, TODAY)
        except CaseValidationError:
            continue
        seen.add(key)
        out.append(case)
    return out


def _batch(name: str, cases: list[dict[str, Any]]) -> tuple[list[Figure], list[RecommendResult]]:
    """Median of 3 batches: wall time, and the CPU time of this process (one core).

    Why CPU time too: on a shared machine the wall time includes the time other processes
    held the core; CPU time is what the batch itself cost on one core.
    """
    walls, cpus = [], []
    results: list[RecommendResult | CaseValidationError] = []
    for _ in range(3):
        wall, cpu = time.perf_counter(), time.process_time()
        results = recommend_many(cases, today=TODAY)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    ok = [r for r in results if isinstance(r, RecommendResult)]
    assert len(ok) == len(cases), "a benchmark case was refused"
    wall, cpu = sorted(walls)[1], sorted(cpus)[1]
    return [
        Figure(name, wall, "cases/s", len(cases) / wall),
        Figure("  same, CPU time of this process", cpu, "cases/s", len(cases) / cpu),
    ], ok


def _engine() -> str:
    """Which engine the figures are for: compiled by `make install`, or its Python source."""
    if NATIVE_STATUS.compiled:
        return "compiled (mypyc): " + ", ".join(NATIVE_STATUS.compiled)
    if NATIVE_STATUS.forced_source:
        return "Python source (RENALPATH_PURE_PYTHON=1)"
    return "Python source (not compiled" + (", build out of date)" if NATIVE_STATUS.stale else ")")


def main() -> None:
    print(f"pathway engine: {_engine()}")
    load_packs()
    vignettes = [json.loads(p.read_text()) for p in sorted(CASES.glob("v*.json"))]
    corpus = varied_corpus(vignettes)
    one = json.loads((CASES / "v10_m1_good_ps_no_systemic.json").read_text())
    recommend(one, today=TODAY)
    single = measure(lambda: recommend(one, today=TODAY), repeat=501)
    repeated, _ = _batch(
        f"pathway: batch, {len(vignettes)} vignettes × {5000 // len(vignettes)}",
        vignettes * (5000 // len(vignettes)),
    )
    varied, results = _batch(f"pathway: batch, {len(corpus)} distinct varied cases", corpus)
    start = time.perf_counter()
    for r in results:
        json.dumps(r.to_dict())
    to_json = time.perf_counter() - start
    report(
        [
            Figure("pathway: one case (V10), median", single),
            *repeated,
            *varied,
            Figure(
                f"pathway: to_dict + json.dumps, {len(results)} results",
                to_json,
                "results/s",
                len(results) / to_json,
            ),
        ]
    )


if __name__ == "__main__":
    main()
