"""Safety invariants of the pathway engine, checked over generated cases × every pack selection.

Each invariant is written here from the clinical safety rules themselves (benign cyst
categories, fitness, feasibility, solitary kidney, adjuvant eligibility, site capabilities,
decisive missing inputs, exclusive options), not from the engine's data files: the gates in
packs/_gates.yaml are what is tested, so the test must not read them.

Cases are drawn from a seeded generator over the case schema, biased to the fields these
rules read and to their boundary values, with any part left out (partial cases).  Default:
a few hundred cases × 7 pack selections (seconds).  The full run:
    RENALPATH_INVARIANT_CASES=100000 pytest tests/pathway/test_safety_invariants.py
A failure prints the smallest failing case found by removing parts of it one at a time.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import math
import os
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from renalpath.pathway import CaseValidationError, RecommendResult, parse_case, recommend
from renalpath.pathway.loader import load_packs
from renalpath.pathway.settle import GRID_LIMIT, complete, domain

TODAY = dt.date(2025, 6, 1)
N_CASES = int(os.environ.get("RENALPATH_INVARIANT_CASES", "400"))
SEED = int(os.environ.get("RENALPATH_INVARIANT_SEED", "20261207"))
SELECTIONS: list[list[str]] = [
    list(c) for n in (1, 2, 3) for c in itertools.combinations(("eau", "oncolex", "salvage"), n)
]
POSITIVE = ("recommended", "alternative")
NEPHRECTOMIES = {
    "partial_nephrectomy",
    "radical_nephrectomy",
    "radical_nephrectomy_with_thrombectomy",
}
SURGICAL = {
    "partial_nephrectomy",
    "radical_nephrectomy",
    "radical_nephrectomy_with_thrombectomy",
    "cytoreductive_nephrectomy",
    "deferred_cytoreductive_nephrectomy",
    "tumour_volume_reduction",
    "metastasectomy",
    "palliative_surgery",
    "orthopaedic_stabilisation",
    "salvage_partial_nephrectomy",
    "salvage_radical_nephrectomy",
    "completion_radical_nephrectomy",
    "adrenalectomy",
    "lymph_node_dissection",
}
KIDNEY_REMOVAL = {
    "radical_nephrectomy",
    "radical_nephrectomy_with_thrombectomy",
    "cytoreductive_nephrectomy",
    "deferred_cytoreductive_nephrectomy",
    "tumour_volume_reduction",
    "salvage_radical_nephrectomy",
    "completion_radical_nephrectomy",
}
VENOUS = ("renal_vein", "ivc_below_diaphragm", "ivc_above_diaphragm", "ivc_wall")
EXCLUSIVE_GROUPS = [
    {
        "active_surveillance",
        "thermal_ablation",
        "partial_nephrectomy",
        "radical_nephrectomy",
        "radical_nephrectomy_with_thrombectomy",
    },
    {"cytoreductive_nephrectomy", "deferred_cytoreductive_nephrectomy", "best_supportive_care"},
    {"orthopaedic_stabilisation", "metastasectomy", "stereotactic_radiotherapy"},
]


# ----------------------------------------------------------------------------- generator


def _maybe(rng: random.Random, p: float = 0.6) -> bool:
    return rng.random() < p


def _pick(
    rng: random.Random, fields: dict[str, Callable[[], Any]], p: float = 0.6
) -> dict[str, Any]:
    return {k: make() for k, make in fields.items() if _maybe(rng, p)}


def generate(rng: random.Random) -> dict[str, Any]:
    """One case the schema allows (it may still be refused by the cross-field checks)."""
    b = lambda: rng.random() < 0.5  # noqa: E731
    c = rng.choice
    case: dict[str, Any] = {"as_of": "2025-06-01"}
    if _maybe(rng, 0.9):
        case["patient"] = _pick(
            rng,
            {
                "age": lambda: c([30, 45, 46, 47, 60, 74, 75, 84]),
                "sex": lambda: c(["male", "female"]),
                "ecog": lambda: c([0, 1, 2, 3]),
                "kps": lambda: c([50, 70, 80, 90]),
                "frail": b,
                "fit_for_surgery": b,
                "life_expectancy_years": lambda: c([0.3, 1.0, 4.0, 10.0]),
                "declines_surgery": b,
                "prefers_active_treatment": b,
                "competing_mortality_outweighs_benefit": b,
                "family_history_rcc": b,
            },
        )
    if _maybe(rng, 0.7):
        kidney = _pick(
            rng,
            {
                "solitary_kidney": lambda: c(["none", "anatomic", "functional"]),
                "bilateral_tumours": b,
                "hereditary_syndrome": lambda: c(["none", "suspected", "confirmed"]),
                "egfr": lambda: c([20, 45, 75, 95]),
                "proteinuria": b,
            },
        )
        if kidney.get("solitary_kidney") == "anatomic":
            kidney.pop("bilateral_tumours", None)
        case["kidney"] = kidney
    cm: str | None = None
    if _maybe(rng, 0.85):
        tumour = _pick(
            rng,
            {
                "size_mm": lambda: c([12, 20, 25, 30, 31, 40, 41, 55, 70, 71, 90, 120]),
                "central": b,
                "cm": lambda: c(["M0", "M1"]),
                "cn": lambda: c(["N0", "N1", "NX"]),
                "histology": lambda: c(["clear_cell", "papillary", "oncocytoma", "unknown"]),
                "biopsy": lambda: c(["not_done", "done", "declined"]),
                "lesion_type": lambda: c(["solid", "cystic"]),
                "bosniak": lambda: c(["I", "II", "IIF", "III", "IV"]),
                "symptoms": lambda: c([[], ["gross_haematuria"], ["flank_pain"]]),
                "multifocal": b,
            },
        )
        if _maybe(rng, 0.8):
            tumour["extension"] = (
                {} if _maybe(rng, 0.5) else {c([*VENOUS, "perirenal_fat", "beyond_gerota"]): True}
            )
        if _maybe(rng, 0.2) and "symptoms" not in tumour:
            tumour["symptomatic"] = b()
        cm = tumour.get("cm")
        case["tumour"] = tumour
    if cm == "M1" or _maybe(rng, 0.35):
        mets = []
        for _ in range(rng.choice([1, 1, 2, 3]) if cm == "M1" or _maybe(rng) else 0):
            organ = c(["lung", "bone", "brain", "liver", "soft_tissue"])
            met = _pick(
                rng,
                {
                    "organ": lambda o=organ: o,  # type: ignore[misc]
                    "count": lambda: c([1, 2, 4]),
                    "resectable": b,
                    "symptoms": lambda: c([[], ["pain"], ["bleeding"]]),
                },
                0.7,
            )
            if cm is not None:
                met["synchronous"] = cm == "M1" and _maybe(rng, 0.8)
            if met.get("organ") == "bone" and _maybe(rng, 0.7):
                met["bone"] = _pick(
                    rng,
                    {
                        "weight_bearing": b,
                        "site": lambda: c(["upper_limb", "lower_limb", "peritrochanteric"]),
                        "lesion": lambda: c(["blastic", "mixed", "lytic"]),
                        "cortical_fraction": lambda: c(["lt_1_3", "1_3_to_2_3", "gt_2_3"]),
                        "pain": lambda: c(["mild", "moderate", "functional"]),
                    },
                    0.75,
                )
            mets.append(met)
        case["metastases"] = mets
        if cm == "M1" and not mets:
            case["tumour"]["cm"] = "M0"
    if _maybe(rng, 0.4):
        case["systemic"] = _pick(
            rng,
            {
                "needs_systemic_therapy": lambda: c(["yes", "no", "unknown"]),
                "dx_to_systemic_days": lambda: c([10, 400]),
                "hb_below_lln": b,
                "calcium_corrected_above_uln": b,
                "neutrophils_above_uln": b,
                "platelets_above_uln": b,
                "ldh_above_1_5_uln": b,
                "calcium_corrected_above_10_mg_dl": b,
                "on_therapy": b,
                "responding": b,
            },
        )
    if _maybe(rng, 0.2):
        case["prior_treatment"] = _pick(
            rng,
            {
                "type": lambda: c(
                    [
                        "cryoablation",
                        "radiofrequency_ablation",
                        "partial_nephrectomy",
                        "radical_nephrectomy",
                    ]
                ),
                "date": lambda: "2023-01-01",
                "failure": lambda: c(["residual", "recurrence"]),
                "failure_site": lambda: c(["ablation_zone", "resection_bed", "renal_fossa"]),
                "lesion_size_mm": lambda: c([20, 30, 35, 45]),
                "reablation_feasible": b,
            },
            0.7,
        )
    if _maybe(rng, 0.25):
        case["pathology"] = _pick(
            rng,
            {
                "histology": lambda: c(["clear_cell", "papillary"]),
                "pt": lambda: c(["pT1b", "pT2a", "pT3a", "pT4"]),
                "pn": lambda: c(["pN0", "pN1"]),
                "pm": lambda: c(["M0", "M1"]),
                "ned": b,
                "margin": lambda: c(["negative", "positive"]),
                "date": lambda: c(["2025-05-01", "2022-01-01"]),
                "isup_grade": lambda: c([2, 4]),
                "treatment": lambda: c(["partial_nephrectomy", "radical_nephrectomy"]),
            },
            0.7,
        )
    if _maybe(rng, 0.5):
        case["surgeon"] = _pick(rng, {"pn_feasible": lambda: c(["yes", "no", "unknown"])}, 0.8)
    if _maybe(rng, 0.35):
        case["site"] = {
            "ablation_modalities": rng.sample(["cryo", "rfa", "mwa"], rng.randint(0, 3))
        }
    return case


def cases(n: int, seed: int = SEED) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    made = 0
    while made < n:
        case = generate(rng)
        try:
            parse_case(case, TODAY)
        except CaseValidationError:
            continue
        made += 1
        yield case


# ----------------------------------------------------------------------------- invariants


def _get(case: dict[str, Any], path: str) -> Any:
    node: Any = case
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _positive(
    r: RecommendResult, options: set[str], statuses: tuple[str, ...] = POSITIVE
) -> list[str]:
    return [
        f"{o.option}={o.status}" for o in r.options if o.option in options and o.status in statuses
    ]


def s1_bosniak(case: dict[str, Any], r: RecommendResult) -> str | None:
    if _get(case, "tumour.bosniak") in ("I", "II", "IIF"):
        bad = _positive(r, NEPHRECTOMIES)
        if bad:
            return f"nephrectomy offered for Bosniak {_get(case, 'tumour.bosniak')}: {bad}"
    return None


def s2_unfit(case: dict[str, Any], r: RecommendResult) -> str | None:
    if _get(case, "patient.fit_for_surgery") is False:
        bad = _positive(r, SURGICAL, ("recommended",))
        if bad:
            return f"surgery recommended for an unfit patient: {bad}"
    return None


def s3_partial(case: dict[str, Any], r: RecommendResult) -> str | None:
    ext = _get(case, "tumour.extension") or {}
    venous = any(ext.get(v) for v in VENOUS)
    advanced = r.derived.get("ct") in ("T3b", "T3c", "T4")
    if _get(case, "surgeon.pn_feasible") == "no" or venous or advanced:
        bad = _positive(r, {"partial_nephrectomy"}, ("recommended",))
        if bad:
            return f"partial nephrectomy recommended (not feasible / venous / cT3b+): {bad}"
    thrombectomy = r.status_of("radical_nephrectomy_with_thrombectomy") == "recommended"
    if thrombectomy and r.status_of("radical_nephrectomy") == "recommended":
        return "plain radical nephrectomy recommended beside nephrectomy with thrombectomy"
    return None


def s4_solitary(case: dict[str, Any], r: RecommendResult) -> str | None:
    if _get(case, "kidney.solitary_kidney") not in ("anatomic", "functional"):
        return None
    bad = _positive(r, KIDNEY_REMOVAL)
    if bad:
        return f"solitary kidney removed as more than a last resort: {bad}"
    shown = [o for o in r.options if o.option in KIDNEY_REMOVAL and o.status == "discuss"]
    for o in shown:
        if "permanent_dialysis_expected" not in o.flags:
            return f"{o.option} in a solitary kidney without permanent_dialysis_expected"
    if shown and "mdt_required" not in r.flags:
        return "solitary-kidney removal discussed without mdt_required"
    for o in r.options:
        if o.status in POSITIVE and "LOC-PN-03" in o.rule_ids and o.option == "radical_nephrectomy":
            return "a rule written for two kidneys decided a solitary-kidney case"
    return None


def s5_adjuvant(case: dict[str, Any], r: RecommendResult) -> str | None:
    ned = _get(case, "pathology.ned")
    disease = (
        ned is False
        or (_get(case, "pathology.pm") == "M1" and ned is not True)
        or (bool(case.get("metastases")) and ned is not True)
        or _get(case, "prior_treatment.failure") in ("residual", "recurrence")
    )
    if disease:
        bad = _positive(
            r, {"adjuvant_immunotherapy", "adjuvant_tki"}, ("recommended", "alternative", "discuss")
        )
        if bad:
            return f"adjuvant therapy offered with evidence of disease: {bad}"
    return None


def s6_site(case: dict[str, Any], r: RecommendResult) -> str | None:
    offered = _get(case, "site.ablation_modalities")
    if offered is None:
        return None
    for o in r.options:
        ablation = o.option in ("thermal_ablation", "repeat_ablation")
        if ablation and o.status in POSITIVE and o.modality not in offered:
            return f"{o.option} ({o.modality}) {o.status} at a site offering {offered}"
    return None


def s7_blocked(case: dict[str, Any], r: RecommendResult) -> str | None:
    for o in r.options:
        if o.status != "blocked_missing_input":
            continue
        if not o.missing:
            return f"{o.option} blocked without naming a missing input"
        if not set(o.missing) <= set(r.missing_inputs):
            return f"{o.option} blocked on {o.missing}, not all in missing_inputs"
    return None


def groups_and_order(case: dict[str, Any], r: RecommendResult) -> str | None:
    for group in EXCLUSIVE_GROUPS:
        by_target: dict[str | None, list[str]] = {}
        for o in r.options:
            if o.option in group and o.status == "recommended":
                by_target.setdefault(o.target, []).append(o.option)
        for target, opts in by_target.items():
            if len(opts) > 1:
                return f"exclusive options all recommended for {target or 'primary'}: {opts}"
    for o in r.options:
        if "choice_group_alternative" in o.flags:
            groups = [g for g in EXCLUSIVE_GROUPS if o.option in g] or [set()]
            first = [
                x
                for x in r.options
                if x.status == "recommended"
                and x.target == o.target
                and any(x.option in g for g in groups)
            ]
            if not first:
                return f"{o.option} made an alternative to a first choice that is not there"
    ranks = {
        "recommended": 0,
        "alternative": 1,
        "discuss": 2,
        "not_recommended": 3,
        "blocked_missing_input": 4,
    }
    order = [ranks[o.status] for o in r.options]
    if order != sorted(order):
        return "options not listed recommended first, blocked last"
    return None


def s8_descriptive(case: dict[str, Any], r: RecommendResult, packs: list[str]) -> str | None:
    """A pre-2018 source recommending CN without EAU carries pre_carmena_source (when the
    packs declare that flag at all; the wording side is checked in the pack tests)."""
    if "eau" in packs or not _PRE_CARMENA_DECLARED:
        return None
    cn = r.option("cytoreductive_nephrectomy")
    flagged = cn is not None and (
        "pre_carmena_source" in cn.flags or "pre_carmena_source" in r.flags
    )
    if cn is not None and cn.status in POSITIVE and cn.pack == "oncolex" and not flagged:
        return "Oncolex cytoreductive nephrectomy without pre_carmena_source"
    return None


_PRE_CARMENA_DECLARED = any(
    "pre_carmena_source"
    in json.dumps([e.spec.model_dump() for rule in p.rules for e in rule.emits])
    + json.dumps([rule.spec.case_flags for rule in p.rules])
    for p in load_packs().packs.values()
)
INVARIANTS: list[tuple[str, Callable[[dict[str, Any], RecommendResult], str | None]]] = [
    ("S1 Bosniak I/II/IIF", s1_bosniak),
    ("S2 unfit", s2_unfit),
    ("S3 partial/thrombus", s3_partial),
    ("S4 solitary kidney", s4_solitary),
    ("S5 adjuvant NED", s5_adjuvant),
    ("S6 site modality", s6_site),
    ("S7 blocked names inputs", s7_blocked),
    ("choice groups / order", groups_and_order),
]


def violations(case: dict[str, Any], packs: list[str]) -> list[str]:
    r = recommend(case, packs, today=TODAY)
    out = [f"{name}: {msg}" for name, check in INVARIANTS if (msg := check(case, r))]
    if msg := s8_descriptive(case, r, packs):
        out.append(f"S8 descriptive: {msg}")
    return out


def _parts(case: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths of every removable part (dict keys, list items), deepest last."""
    if isinstance(case, dict):
        for k, v in case.items():
            yield (*prefix, k)
            yield from _parts(v, (*prefix, k))
    elif isinstance(case, list):
        for i, v in enumerate(case):
            yield (*prefix, i)
            yield from _parts(v, (*prefix, i))


def _without(case: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    out = copy.deepcopy(case)
    node: Any = out
    for p in path[:-1]:
        node = node[p]
    del node[path[-1]]
    return out


def shrink(case: dict[str, Any], packs: list[str], name: str) -> dict[str, Any]:
    """Remove parts one at a time while the same invariant still fails (a local minimum)."""

    def fails(c: dict[str, Any]) -> bool:
        try:
            parse_case(c, TODAY)
        except CaseValidationError:
            return False
        return any(v.startswith(name) for v in violations(c, packs))

    changed = True
    while changed:
        changed = False
        for path in list(_parts(case)):
            if path == ("as_of",):
                continue
            try:
                smaller = _without(case, path)
            except (KeyError, IndexError):
                continue
            if fails(smaller):
                case, changed = smaller, True
                break
    return case


@pytest.mark.parametrize("packs", SELECTIONS, ids=lambda p: "+".join(p))
def test_safety_invariants_hold_over_generated_cases(packs: list[str]) -> None:
    for n, case in enumerate(cases(N_CASES)):
        if n and n % 10000 == 0 and os.environ.get("RENALPATH_INVARIANT_PROGRESS"):
            print(f"{packs}: {n} cases checked", flush=True)  # long runs only
        found = violations(case, packs)
        if found:
            name = found[0].split(":")[0]
            small = shrink(case, packs, name)
            pytest.fail(
                f"case {n}, packs {packs}: {found}\nsmallest failing case:\n"
                + json.dumps(small, indent=1, default=str)
            )


def test_blocked_inputs_are_decisive() -> None:
    """S7 for the inputs the engine can try: each one listed, changed alone, changes the status."""
    checked = 0
    for case in cases(min(max(N_CASES // 4, 60), 5000), SEED + 1):
        model = parse_case(case, TODAY)
        r = recommend(model, today=TODAY)
        for o in r.options:
            if o.status != "blocked_missing_input" or len(o.missing) > 2:
                continue
            required = {
                m
                for c in o.contributions
                if c.status == "blocked_missing_input" and c.would_be is None
                for m in c.missing
            }
            if required:  # blocked on purpose until a required input exists: ask for it only
                assert set(o.missing) == required, (o.option, o.missing, required)
                continue
            hints = load_packs().input_values
            domains = [domain(m, hints) for m in o.missing]
            if any(d is None for d in domains):
                continue
            if math.prod(len(d or ()) for d in domains) > GRID_LIMIT:
                continue  # beyond what the engine tries: blocked on all its inputs, by design
            key = (o.option, o.modality, o.target)
            statuses = set()
            for combo in itertools.product(*(d or () for d in domains)):
                filled = complete(model, list(zip(o.missing, combo, strict=True)), TODAY)
                if filled is None:
                    continue
                res = recommend(filled, today=TODAY)
                rec = next(
                    (x for x in res.options if (x.option, x.modality, x.target) == key), None
                )
                statuses.add("absent" if rec is None else rec.status)
            checked += 1
            normal = {"not_recommended" if s == "absent" else s for s in statuses}
            assert len(normal) > 1, (
                f"{o.option} blocked on {o.missing}, yet every value gives {statuses}:\n"
                + json.dumps(case, default=str)
            )
    assert checked > 0


def test_plain_paths_change_nothing_else_in_derivation() -> None:
    """derive.PLAIN_PATHS may skip re-derivation only if setting such a field changes the
    flattened case in that field alone: checked on generated cases, every listed field."""
    from renalpath.pathway.derive import PLAIN_PATHS, derive

    hints = load_packs().input_values
    checked = 0
    for case in cases(120, SEED + 2):
        model = parse_case(case, TODAY)
        base = derive(model, TODAY)
        for path in sorted(PLAIN_PATHS):
            concrete = path
            if path.startswith("met."):
                if not case.get("metastases"):
                    continue
                concrete = "metastases[0]." + path[len("met.") :]
            elif path.rpartition(".")[0] not in base.values:
                continue  # the engine re-derives when the parent object is absent
            values = domain(concrete, hints) or ((3, 50) if path.endswith("size_mm") else ())
            for value in values:
                filled = complete(model, [(concrete, value)], TODAY)
                if filled is None:
                    continue
                d = derive(filled, TODAY)
                checked += 1
                # Objects (the parent, the list of metastases) are read only for presence.
                extra = {k for k, v in d.values.items() if base.values.get(k) != v}
                if path.startswith("met."):
                    assert extra <= {"metastases"}, (path, value, extra)
                    assert base.items is not None and d.items is not None
                    expect = {**base.items[0], path: value}
                    assert d.items[0] == expect, (path, value)
                else:
                    assert extra <= {path, path.rpartition(".")[0]}, (path, value, extra)
                assert d.output == base.output and d.missing == base.missing, (path, value)
    assert checked > 100
