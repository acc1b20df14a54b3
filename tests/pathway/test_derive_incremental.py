"""Deriving a case again section by section gives what deriving the whole case gives.

Why: to decide whether a missing input matters, the engine runs many completions of one case
(settle.py), each the case with one or a few inputs set.  derive.derive_again() re-runs only
the sections of derive() that read a changed input (derive._SECTIONS says which read what);
a section missing from that table would leave a stale derived value and a wrong answer.  So
every input the engine may try, with every value it tries, is checked here on generated
cases against a full derivation of the completed case.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Iterable, Iterator
from typing import Any

from renalpath.pathway import CaseValidationError, parse_case
from renalpath.pathway.case import ITEM_PREFIX, case_fields
from renalpath.pathway.derive import Derived, derive, derive_again
from renalpath.pathway.loader import load_packs
from renalpath.pathway.settle import complete, complete_by_validation, domain
from tests.pathway.test_safety_invariants import cases

TODAY = dt.date(2025, 6, 1)
FIELDS = case_fields()


def _tryable(case: dict[str, Any]) -> list[str]:
    """Every path the engine could try values for on this case (settle.domain)."""
    hints = load_packs().input_values
    paths = [p for p in FIELDS if not p.startswith(ITEM_PREFIX)]
    for i in range(len(case.get("metastases") or ())):
        paths += [
            f"metastases[{i}].{p[len(ITEM_PREFIX) :]}" for p in FIELDS if p.startswith(ITEM_PREFIX)
        ]
    return [p for p in paths if domain(p, hints)]


def _differ(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {k: (a.get(k), b.get(k)) for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


def _same(a: Derived, b: Derived, what: object) -> None:
    assert a.values == b.values, (what, _differ(a.values, b.values))
    assert a.missing == b.missing, (what, _differ(a.missing, b.missing))
    assert a.items == b.items, what


def test_every_tried_input_rederives_exactly() -> None:
    hints = load_packs().input_values
    checked = 0
    for case in cases(150, 31):
        model = parse_case(case, TODAY)
        base = derive(model, TODAY)
        for path in _tryable(case):
            for value in domain(path, hints) or ():
                filled = complete(model, [(path, value)], TODAY)
                if filled is None:
                    continue
                again = derive_again(base, filled, [path])
                assert again is not None
                _same(again, derive(filled, TODAY), (path, value, case))
                checked += 1
    assert checked > 5000


def test_several_inputs_at_once_rederive_exactly() -> None:
    hints = load_packs().input_values
    rng = random.Random(7)
    checked = 0
    for case in cases(150, 32):
        model = parse_case(case, TODAY)
        base = derive(model, TODAY)
        paths = _tryable(case)
        for _ in range(20):
            chosen = rng.sample(paths, min(3, len(paths)))
            for combo in itertools.product(*(domain(p, hints) or () for p in chosen)):
                assignment = list(zip(chosen, combo, strict=True))
                filled = complete(model, assignment, TODAY)
                if filled is None:
                    continue
                again = derive_again(base, filled, chosen)
                assert again is not None
                _same(again, derive(filled, TODAY), (assignment, case))
                checked += 1
    assert checked > 1000


def _other_values(path: str) -> tuple[Any, ...]:
    """A few values of any field (numbers at and around their limits, dates, lists)."""
    kind = FIELDS[ITEM_PREFIX + path.split("].", 1)[1] if "]." in path else path]
    name = path.rsplit(".", 1)[-1]
    if kind.kind == "bool":
        return (True, False)
    if kind.kind == "enum":
        return kind.choices
    if kind.kind == "list":
        return ([], list(kind.choices[:1]), list(kind.choices[-2:]))
    if kind.kind == "date":
        return (dt.date(2020, 1, 1), dt.date(2024, 12, 31), TODAY)
    if kind.kind == "number":
        wide = (0, 1, 7, 10, 29, 30, 31, 40, 45, 60, 70, 80, 90, 100, 150, 364, 365, 400)
        return (0.4, 2.5, *wide) if name in ("value", "life_expectancy_years") else wide
    if name == "unit":
        return ("mg/dL", "µmol/L")
    return ()


def _leaf_paths(case: dict[str, Any]) -> list[str]:
    paths = [
        p
        for p, k in FIELDS.items()
        if not p.startswith(ITEM_PREFIX) and k.kind not in ("object",) and p != "metastases"
    ]
    for i in range(len(case.get("metastases") or ())):
        paths += [
            f"metastases[{i}].{p[len(ITEM_PREFIX) :]}"
            for p, k in FIELDS.items()
            if p.startswith(ITEM_PREFIX) and k.kind != "object"
        ]
    return paths


def test_every_field_changed_rederives_exactly() -> None:
    """Not only the inputs the engine tries: any field (a size, a date, a creatinine, a list
    of symptoms) changed alone re-derives exactly, so the table of what each section reads
    is complete."""
    checked = 0
    for case in cases(100, 34):
        model = parse_case(case, TODAY)
        base = derive(model, TODAY)
        mets = case.get("metastases")
        lists = [
            [],
            None,
            *([mets[:-1], [*mets, {"organ": "lung", "synchronous": True}]] if mets else []),
        ]
        for path in [*_leaf_paths(case), "metastases"]:
            for value in lists if path == "metastases" else _other_values(path):
                filled = complete_by_validation(model, [(path, value)], TODAY)
                if filled is None:
                    continue
                again = derive_again(base, filled, [path])
                assert again is not None
                _same(again, derive(filled, TODAY), (path, value, case))
                checked += 1
    assert checked > 20000


def test_completion_without_revalidation_is_what_validation_gives() -> None:
    """settle.complete() builds the completed case without validating it all again; it must
    give the same case (or the same refusal) as dumping, setting and validating."""
    hints = load_packs().input_values
    checked = 0
    for case in cases(150, 33):
        model = parse_case(case, TODAY)
        paths = [*_tryable(case), "metastases[9].count", "tumour.extension.renal_vein"]
        for path in paths:
            for value in domain(path, hints) or (True, 5):
                fast = complete(model, [(path, value)], TODAY)
                slow = complete_by_validation(model, [(path, value)], TODAY)
                assert (fast is None) == (slow is None), (path, value, case)
                if fast is not None and slow is not None:
                    assert fast == slow, (path, value, case)
                    assert fast.model_dump() == slow.model_dump(), (path, value, case)
                checked += 1
    assert checked > 5000


def _with_cm_variants(found: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Each case, and for some a variant whose cM is not given, with no metastasis (an
    empty list) or a synchronous one: the cases where a tried cM makes the case invalid."""
    for n, case in enumerate(found):
        yield case
        if n % 5:
            continue
        for mets in ([], [{"organ": "lung", "synchronous": True}]):
            variant = {**case, "tumour": dict(case.get("tumour") or {}), "metastases": mets}
            variant["tumour"].pop("cm", None)
            try:
                parse_case(variant, TODAY)
            except CaseValidationError:
                continue
            yield variant


def test_completion_of_a_checked_case_is_what_validation_gives() -> None:
    """settle.complete(case_checked=True) runs the checks between fields only when a
    completion sets a value they read (or creates a model on the way); it must still refuse
    every completion validation refuses — single inputs and pairs of inputs."""
    hints = load_packs().input_values
    rng = random.Random(35)
    checked = refused = 0
    for case in _with_cm_variants(cases(150, 35)):
        model = parse_case(case, TODAY)
        paths = [*_tryable(case), "metastases[9].count", "tumour.extension.renal_vein"]
        assignments: list[list[tuple[str, Any]]] = [
            [(path, value)] for path in paths for value in domain(path, hints) or (True, 5)
        ]
        for _ in range(40):
            a, b = rng.sample(paths, 2)
            assignments.append(
                [
                    (a, rng.choice(domain(a, hints) or (True,))),
                    (b, rng.choice(domain(b, hints) or (True,))),
                ]
            )
        for assignment in assignments:
            fast = complete(model, assignment, TODAY, case_checked=True)
            slow = complete_by_validation(model, assignment, TODAY)
            assert (fast is None) == (slow is None), (assignment, case)
            if fast is not None and slow is not None:
                assert fast.model_dump() == slow.model_dump(), (assignment, case)
            checked += 1
            refused += slow is None
    assert checked > 10000
    assert refused > 100  # the checks between fields were exercised
