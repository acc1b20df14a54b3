"""Form → data conversion: never crashes, never silently drops or coerces a typed value."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from renalpath.calculators.egfr import EgfrRequest
from renalpath.calculators.nephrometry import RenalRequest
from renalpath.web.case_form import ALL_FIELDS
from renalpath.web.forms import compact, fields_of, form_to_data

EGFR_FIELDS = fields_of(EgfrRequest)


@given(st.text(max_size=20))
def test_number_field_gives_number_or_named_problem(raw: str) -> None:
    data, problems = form_to_data({"creatinine": raw}, EGFR_FIELDS)
    if raw.strip() == "":
        assert "creatinine" not in data and not problems
    elif "creatinine" in data:
        assert isinstance(data["creatinine"], float)
        assert float(raw.strip()) == data["creatinine"]
    else:
        assert [p.field for p in problems] == ["creatinine"]


@given(st.dictionaries(st.sampled_from([f.name for f in ALL_FIELDS]), st.text(max_size=12)))
def test_case_form_never_raises(form: dict[str, str]) -> None:
    data, problems = form_to_data(form, ALL_FIELDS)
    named = {f.name for f in ALL_FIELDS}
    assert all(p.field in named for p in problems)
    compact(data)


def test_checkbox_and_tristate() -> None:
    data, _ = form_to_data({}, fields_of(RenalRequest))
    assert data == {"hilar": False}  # a plain checkbox: unticked is a real "no"
    data, _ = form_to_data({"tumour.renal.hilar": "false", "tumour.central": ""}, ALL_FIELDS)
    assert data["tumour"]["renal"]["hilar"] is False and "central" not in data["tumour"]


def test_extension_only_when_assessed() -> None:
    data, _ = form_to_data({"tumour.size_mm": "35"}, ALL_FIELDS)
    assert "extension" not in compact(data)["tumour"]  # not assessed → not sent (engine asks)
    data, _ = form_to_data({"tumour.extension.__present": "true"}, ALL_FIELDS)
    ext = data["tumour"]["extension"]
    assert ext and not any(ext.values())  # assessed, nothing ticked → all absent


def test_metastasis_rows_and_integer_fields() -> None:
    form = {"metastases[1].organ": "lung", "metastases[1].count": "2.5", "metastases[0].organ": ""}
    data, problems = form_to_data(form, ALL_FIELDS)
    assert [p.field for p in problems] == ["metastases[1].count"]
    assert compact(data)["metastases"] == [{"organ": "lung"}]
