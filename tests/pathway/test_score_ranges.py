"""Scores with missing inputs are shown as the range they can still take.

Expected values are worked by hand from the published models, not from our output: IMDC
(Heng DY et al., J Clin Oncol 2009;27:5794, PMID 19826129) counts six factors, poor = 3–6;
MSKCC (Motzer RJ et al., J Clin Oncol 2002;20:289, PMID 11773181) counts five, poor = 3–5;
Mirels (Clin Orthop Relat Res 1989;249:256, PMID 2684463) sums four items of 1–3 points,
≥ 9 = prophylactic fixation.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from renalpath.pathway import CaseValidationError, parse_case, recommend
from renalpath.pathway.text import summary

CASES = Path(__file__).parent / "cases"
POOR = "v12_m1_imdc_poor.json"


def _case(**systemic: Any) -> dict[str, Any]:
    case: dict[str, Any] = json.loads((CASES / POOR).read_text())
    case["systemic"].update(systemic)
    for key, value in list(case["systemic"].items()):
        if value is None:
            del case["systemic"][key]
    return case


def test_imdc_certain_poor_without_neutrophils_and_platelets() -> None:
    # KPS 60 (< 80), 14 days (< 1 year), low Hb, high calcium: 4 known factors; 2 unknown.
    r = recommend(parse_case(_case(neutrophils_above_uln=None, platelets_above_uln=None)))
    assert r.derived["imdc"] is None
    rng = r.derived["imdc_range"]
    assert (rng["low"], rng["high"], rng["groups"], rng["settled"]) == (4, 6, ["poor"], True)
    assert rng["missing"] == ["systemic.neutrophils_above_uln", "systemic.platelets_above_uln"]
    assert "IMDC 4–6 (poor whatever systemic.neutrophils_above_uln" in summary(r)


def test_imdc_open_range_names_both_groups() -> None:
    # Only KPS < 80 and < 1 year are factors; the four laboratory factors are unknown: 2–6.
    case = _case(
        hb_below_lln=None,
        calcium_corrected_above_uln=None,
        neutrophils_above_uln=None,
        platelets_above_uln=None,
    )
    rng = recommend(parse_case(case)).derived["imdc_range"]
    assert (rng["low"], rng["high"], rng["groups"], rng["settled"]) == (
        2,
        6,
        ["intermediate", "poor"],
        False,
    )


def test_mskcc_range_and_complete_score_has_no_range() -> None:
    r = recommend(parse_case(_case(ldh_above_1_5_uln=None)))
    # KPS < 80, < 1 year, low Hb, calcium > 10 mg/dL: 4 of 5 known → 4–5, poor.
    assert r.derived["mskcc_range"]["low"] == 4
    assert r.derived["mskcc_range"]["high"] == 5
    assert r.derived["mskcc_range"]["groups"] == ["poor"]
    assert r.derived["imdc"] == {"score": 5, "group": "poor"}
    assert r.derived["imdc_range"] is None


@pytest.mark.parametrize(
    ("bone", "low", "high", "groups"),
    [
        # lower limb 2 + lytic 3 + > 2/3 cortex 3 = 8 without pain; pain adds 1–3 → 9–11.
        (
            {"site": "lower_limb", "lesion": "lytic", "cortical_fraction": "gt_2_3"},
            9,
            11,
            ["prophylactic_fixation"],
        ),
        # upper limb 1 + blastic 1 + < 1/3 1 = 3; pain 1–3 → 4–6: observation only.
        (
            {"site": "upper_limb", "lesion": "blastic", "cortical_fraction": "lt_1_3"},
            4,
            6,
            ["radiotherapy_or_observation"],
        ),
        # peritrochanteric 3 + mixed 2 = 5; pain and cortex 2–6 → 7–11: all three groups.
        (
            {"site": "peritrochanteric", "lesion": "mixed"},
            7,
            11,
            ["radiotherapy_or_observation", "clinical_judgement", "prophylactic_fixation"],
        ),
    ],
)
def test_mirels_range(bone: dict[str, str], low: int, high: int, groups: list[str]) -> None:
    case = _case()
    met = copy.deepcopy(case["metastases"][0])
    met["bone"] = {"weight_bearing": True, **bone}
    met.pop("symptoms", None)
    case["metastases"] = [met]
    rng = recommend(parse_case(case)).derived["mirels_range"]
    assert (rng["low"], rng["high"], rng["groups"]) == (low, high, groups)
    assert rng["settled"] == (len(groups) == 1)


def test_cm1_without_the_sites_is_incomplete_not_refused() -> None:
    """A registry knows cM1 before the metastatic sites are entered: the case is accepted and
    what depends on the sites waits for them; an explicitly empty list is a contradiction."""
    base = {
        "as_of": "2025-06-01",
        "patient": {"age": 70, "sex": "male", "kps": 90, "fit_for_surgery": True},
        "tumour": {"size_mm": 80, "cm": "M1", "histology": "clear_cell"},
    }
    r = recommend(parse_case(base))
    assert r.derived["cm"] == "M1"
    assert "metastases" in r.missing_inputs
    local = {"partial_nephrectomy", "radical_nephrectomy", "active_surveillance"}
    assert not [o for o in r.options if o.option in local and o.status == "recommended"]
    with pytest.raises(CaseValidationError, match=r"tumour\.cm"):
        parse_case({**base, "metastases": []})
