"""`--pack oncolex` alone reproduces the founding pathway (founding text)."""

from __future__ import annotations

from typing import Any

from renalpath.pathway import recommend


def localised(size: int, central: bool, age: int = 60) -> dict[str, Any]:
    return {
        "as_of": "2025-06-01",
        "patient": {"age": age, "sex": "male", "fit_for_surgery": True},
        "tumour": {"size_mm": size, "central": central, "cm": "M0", "extension": {}},
    }


def test_central_5_cm_tumour_total_nephrectomy() -> None:
    r = recommend(localised(50, central=True), ["oncolex"])
    rn = r.option("radical_nephrectomy")
    assert rn is not None and rn.status == "recommended" and "ONX-05" in rn.rule_ids
    assert r.option("partial_nephrectomy") is None
    assert r.packs == [{"id": "oncolex", "version": "2018"}]


def test_peripheral_5_cm_tumour_resection() -> None:
    r = recommend(localised(50, central=False), ["oncolex"])
    assert r.status_of("partial_nephrectomy") == "recommended"
    assert r.option("radical_nephrectomy") is None


def test_large_tumour_total_nephrectomy() -> None:
    assert (
        recommend(localised(85, central=False), ["oncolex"]).status_of("radical_nephrectomy")
        == "recommended"
    )


def test_under_2_cm_in_old_patient_active_monitoring() -> None:
    r = recommend(localised(15, central=False, age=82), ["oncolex"])
    assert r.status_of("active_surveillance") == "recommended"
    assert "ONX-09" in r.option("active_surveillance").rule_ids  # type: ignore[union-attr]


def test_under_2_cm_in_young_patient_no_monitoring() -> None:
    r = recommend(localised(15, central=False, age=50), ["oncolex"])
    assert r.option("active_surveillance") is None


def test_metastatic_good_condition_nephrectomy_reduced_condition_volume_reduction() -> None:
    base = {
        "as_of": "2025-06-01",
        "tumour": {"size_mm": 60, "cm": "M1", "extension": {}},
        "metastases": [{"organ": "lung", "count": 2, "synchronous": True}],
    }
    good = recommend({**base, "patient": {"kps": 90}}, ["oncolex"])
    assert good.status_of("cytoreductive_nephrectomy") == "recommended"
    poor = recommend({**base, "patient": {"kps": 50}}, ["oncolex"])
    assert poor.status_of("tumour_volume_reduction") == "recommended"
    assert poor.option("cytoreductive_nephrectomy") is None


def test_central_t1_under_all_packs_is_partial_with_oncolex_discuss() -> None:
    # Conflict C2: central cT1 → PN if feasible, ONX-05 shown as discuss.
    case = localised(50, central=True)
    case["surgeon"] = {"pn_feasible": "yes"}
    case["patient"]["frail"] = False
    case["kidney"] = {"solitary_kidney": "none", "bilateral_tumours": False, "egfr": 90}
    r = recommend(case)
    pn = r.option("partial_nephrectomy")
    assert pn is not None and pn.status == "recommended"
    assert "consider_high_volume_centre" in pn.flags
    rn = r.option("radical_nephrectomy")
    assert rn is not None and rn.status == "not_recommended"
    onx = [c for c in rn.contributions if c.rule_id == "ONX-05"]
    assert onx and onx[0].status == "discuss"
    assert "C2" in [c["id"] for c in r.conflicts]
