"""AJCC 8 kidney T category and stage group (AJCC 8; refdata/staging)."""

from __future__ import annotations

import csv
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.staging import T_CATEGORIES, normalise_t, stage_group, t_category, tnm

DATA = Path(__file__).parent / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


SIZE_ROWS = _rows("ajcc8_kidney_T_by_size_organ_confined.csv")
GROUP_ROWS = _rows("ajcc8_kidney_stage_groups.csv")


@pytest.mark.parametrize("row", SIZE_ROWS, ids=[r["greatest_dimension_cm"] for r in SIZE_ROWS])
def test_refdata_t_by_size(row: dict[str, str]) -> None:
    size_mm = float(Decimal(row["greatest_dimension_cm"]) * 10)  # exact cm → mm
    assert t_category(size_mm) == row["T_category"]


@pytest.mark.parametrize("row", GROUP_ROWS, ids=[f"{r['T']}{r['N']}{r['M']}" for r in GROUP_ROWS])
def test_refdata_stage_groups(row: dict[str, str]) -> None:
    assert stage_group(row["T"], row["N"], row["M"]) == row["stage_group"]
    # the same with clinical / pathological prefixes
    assert stage_group("c" + row["T"], "c" + row["N"], "c" + row["M"]) == row["stage_group"]
    assert stage_group("p" + row["T"], "p" + row["N"], row["M"]) == row["stage_group"]


def test_refdata_groups_cover_every_t() -> None:
    assert {r["T"] for r in GROUP_ROWS} == set(T_CATEGORIES)


@pytest.mark.parametrize(
    ("size_mm", "t"),
    [(40, "T1a"), (41, "T1b"), (70, "T1b"), (71, "T2a"), (100, "T2a"), (101, "T2b")],
)
def test_b8_mm_boundaries(size_mm: int, t: str) -> None:
    # B8: 40 mm → T1a; 70 → T1b; 100 → T2a; 101 → T2b.
    assert t_category(size_mm) == t


def test_b8_example_1() -> None:
    r = tnm(35, n="N0", m="M0")
    assert (r.t, r.n, r.m, r.stage_group) == ("T1a", "N0", "M0", "I")


def test_b8_example_2() -> None:
    r = tnm(85, n="N1", m="M0")
    assert (r.t, r.stage_group) == ("T2a", "III")


def test_b8_example_3_renal_vein_overrides_size() -> None:
    r = tnm(50, n="N0", m="M0", renal_vein=True)
    assert (r.t, r.stage_group) == ("T3a", "III")


def test_b8_example_4_adrenal_and_m1() -> None:
    assert tnm(None, n="N0", m="M0", adrenal_contiguous=True).stage_group == "IV"
    assert t_category(None, adrenal_contiguous=True) == "T4"
    assert tnm(20, n="N0", m="M1").stage_group == "IV"


@pytest.mark.parametrize(
    ("flag", "t"),
    [
        ("renal_vein", "T3a"),
        ("pelvicalyceal", "T3a"),
        ("perirenal_fat", "T3a"),
        ("sinus_fat", "T3a"),
        ("ivc_below_diaphragm", "T3b"),
        ("ivc_above_diaphragm", "T3c"),
        ("ivc_wall", "T3c"),
        ("beyond_gerota", "T4"),
        ("adrenal_contiguous", "T4"),
    ],
)
def test_each_extension_flag(flag: str, t: str) -> None:
    assert t_category(30, **{flag: True}) == t
    assert t_category(150, **{flag: True}) == t  # overrides T2b too


def test_most_advanced_extension_wins() -> None:
    assert t_category(30, renal_vein=True, ivc_below_diaphragm=True) == "T3b"
    assert t_category(30, ivc_wall=True, beyond_gerota=True) == "T4"


def test_size_required_without_extension() -> None:
    with pytest.raises(ClinicalInputError) as err:
        t_category(None)
    assert err.value.fields == ("size_mm",)


@pytest.mark.parametrize("bad", [0, 0.5, 401, -3, math.nan, "40"])
def test_bad_size_refused(bad: Any) -> None:
    with pytest.raises(ClinicalInputError) as err:
        t_category(bad)
    assert err.value.fields == ("size_mm",)
    assert "size_mm" in str(err.value)


def test_t1_nx_m0_refused_but_t3_nx_is_iii() -> None:
    with pytest.raises(ClinicalInputError) as err:
        stage_group("T1a", "NX", "M0")
    assert err.value.fields == ("n",)
    assert stage_group("T3a", "NX", "M0") == "III"
    assert stage_group("T4", "NX", "M0") == "IV"
    assert stage_group("T1a", "NX", "M1") == "IV"


def test_general_t_without_subcategory() -> None:
    assert stage_group("T1", "N0", "M0") == "I"
    assert stage_group("pT2", "N0", "M0") == "II"
    assert stage_group("T3", "N1", "M0") == "III"


def test_tx_m0_has_no_group() -> None:
    with pytest.raises(ClinicalInputError) as err:
        stage_group("TX", "N0", "M0")
    assert err.value.fields == ("t",)
    assert stage_group("TX", "N1", "M1") == "IV"


@pytest.mark.parametrize(
    ("t", "n", "m", "fields"),
    [
        ("T5", "N0", "M0", ("t",)),
        ("T1a", "N2", "M0", ("n",)),
        ("T1a", "N0", "MX", ("m",)),
        ("T9", "N9", "M9", ("t", "n", "m")),
        (None, "N0", "M0", ("t",)),
    ],
)
def test_stage_group_refusals_name_fields(t: Any, n: str, m: str, fields: tuple[str, ...]) -> None:
    with pytest.raises(ClinicalInputError) as err:
        stage_group(t, n, m)
    assert err.value.fields == fields
    for f in fields:
        assert f"{f}:" in str(err.value)


def test_normalise_t_prefixes() -> None:
    assert normalise_t("cT3a") == "T3a"
    assert normalise_t("pT1A") == "T1a"
    assert normalise_t("T2b") == "T2b"


def test_tnm_explicit_t_consistent_and_contradictory() -> None:
    assert tnm(n="N0", m="M0", t="pT2b").t == "T2b"
    assert tnm(39, n="N0", m="M0", t="pT1").t == "T1a"
    # KiTS19 case_00016-like: 39 mm organ-confined recorded as pT1b → contradiction surfaced.
    with pytest.raises(ClinicalInputError) as err:
        tnm(39, n="N0", m="M0", t="pT1b")
    assert err.value.fields == ("t",)


def test_tnm_requires_n_and_m() -> None:
    with pytest.raises(ClinicalInputError) as err:
        tnm(30, n=None, m=None)  # type: ignore[arg-type]
    assert set(err.value.fields) == {"n", "m"}


_ORDER = {t: i for i, t in enumerate(T_CATEGORIES)}
FLAGS = (
    "renal_vein",
    "pelvicalyceal",
    "perirenal_fat",
    "sinus_fat",
    "ivc_below_diaphragm",
    "ivc_above_diaphragm",
    "ivc_wall",
    "beyond_gerota",
    "adrenal_contiguous",
)


@given(
    st.floats(min_value=1, max_value=400),
    st.floats(min_value=1, max_value=400),
    st.fixed_dictionaries({f: st.booleans() for f in FLAGS}),
)
def test_t_never_decreases_as_size_grows(a: float, b: float, flags: dict[str, bool]) -> None:
    lo, hi = sorted((a, b))
    assert _ORDER[t_category(lo, **flags)] <= _ORDER[t_category(hi, **flags)]


@given(st.floats(min_value=1, max_value=400), st.sampled_from(FLAGS))
def test_adding_extension_never_lowers_t(size: float, flag: str) -> None:
    assert _ORDER[t_category(size, **{flag: True})] >= _ORDER[t_category(size)]


@given(st.sampled_from(FLAGS), st.sampled_from([None, 1, "yes", 0.0]))
def test_non_bool_flag_refusal_names_field(flag: str, bad: Any) -> None:
    with pytest.raises(ClinicalInputError) as err:
        t_category(30, **{flag: bad})
    assert err.value.fields == (flag,)
    assert flag in str(err.value)
