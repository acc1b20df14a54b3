"""`recommend(case)` and `recommend_many(cases)`: the pathway's public entry points.

Packs are compiled once per process (loader cache), so the per-case cost is validation,
derivation and firing precompiled conditions.  `recommend_many` does not stop at an invalid
case: a registry audit must report every refusal alongside every result.

Why the batch pauses Python's cyclic garbage collector: a batch allocates a few hundred
small containers per case and keeps every result, so the collector's passes over the
growing result list cost about a quarter of the batch time (bench/bench_pathway.py), while
the engine creates no reference cycles for it to find.  Young objects are still collected
every `_GC_EVERY` cases, so cycles made by the caller's own iterator (e.g. ORM rows) are
freed as the batch goes, and the collector is restored as it was, whatever happens.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from renalpath.errors import UnknownPack
from renalpath.pathway.case import Case, CaseValidationError, parse_case
from renalpath.pathway.evaluate import evaluate
from renalpath.pathway.loader import PACK_ORDER, load_packs
from renalpath.pathway.result import RecommendResult

PACK_IDS = PACK_ORDER
_GC_EVERY = 2000


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _pack_ids(packs: Sequence[str] | None) -> tuple[str, ...]:
    loaded = load_packs().packs
    if not packs:
        return tuple(p for p in PACK_ORDER if p in loaded)
    unknown = [p for p in packs if p not in loaded]
    if unknown:
        raise UnknownPack(f"unknown pack(s): {', '.join(unknown)}; known: {', '.join(loaded)}")
    return tuple(p for p in PACK_ORDER if p in packs)


def recommend(
    case: Case | Mapping[str, Any],
    packs: Sequence[str] | None = None,
    *,
    today: dt.date | None = None,
) -> RecommendResult:
    """Options for one case; raises CaseValidationError (every problem by path) if invalid."""
    model = parse_case(case, today)
    return evaluate(model, load_packs(), _pack_ids(packs), today)


def recommend_many(
    cases: Iterable[Case | Mapping[str, Any]],
    packs: Sequence[str] | None = None,
    *,
    today: dt.date | None = None,
) -> list[RecommendResult | CaseValidationError]:
    """Batch form: one entry per case, a result or the refusal (never raises for a bad case)."""
    packset = load_packs()
    ids = _pack_ids(packs)
    day = today or dt.date.today()
    out: list[RecommendResult | CaseValidationError] = []
    with _cyclic_gc_paused():
        for n, case in enumerate(cases, 1):
            if n % _GC_EVERY == 0:
                gc.collect(1)
            try:
                model = parse_case(case, day)
            except CaseValidationError as err:
                out.append(err)
                continue
            out.append(evaluate(model, packset, ids, day))
    return out
