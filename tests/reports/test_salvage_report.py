"""The salvage report shows the numbers it was given, formatted, in one self-contained file."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import pytest

from renalpath.reports import (
    KidneyPair,
    ReportInputError,
    SalvageReportInput,
    render_salvage_html,
)
from renalpath.reports.formatting import DASH


def _text(html: str) -> str:
    """Visible text with tags removed and whitespace collapsed (what a reader sees)."""
    body = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


PAIRS = (KidneyPair("1", 60.0, 52.0), KidneyPair("2", 48.0, 41.0))


def test_key_numbers_are_shown_formatted(study: dict[str, Any]) -> None:
    html = render_salvage_html(SalvageReportInput(study, kidney_pairs=PAIRS))
    text = _text(html)
    expected = [
        "839",  # denominator
        "13 (1.5%)",  # 13/839 = 1.549 %
        "11 (85%)",  # 11/13 = 84.6 %
        "64.0 ± 8.2",  # age mean ± SD
        "47.0–79.5",  # age range
        "7 (54%)",  # cryoablation 7/13 = 53.8 %
        "4 (31%)",  # primary open surgery 4/13 = 30.8 %
        "10 (77%)",  # salvage PN 10/13 = 76.9 %
        "3 (23%)",  # salvage RN, and dialysis expected, 3/13
        "8 (62%)",  # pT1a 8/13 = 61.5 %
        "13 (100%)",  # negative margins
        "2 (15%)",  # major complications 2/13 = 15.4 %
        "17.4",  # warm ischaemia mean
        "647.0",  # blood loss mean
        "100.0–2000.0",  # blood loss range
        "3.5–88.0",  # follow-up range
        "32.9",  # follow-up mean
        "1.35",
        "1.43",
        "0.08",  # creatinine change 1.43 − 1.35
        "53.8",
        "46.6",
        "−7.2",  # eGFR change with a true minus sign
        "0.03",  # paired t-test p = 0.0312
        "< 0.001",  # Wilcoxon p = 0.0004
        "4 (40%)",  # CKD up-staged 4/10
        "MDRD Study",  # equation named
        "92% (79–100)",  # RFS at 12 months
        "84% (66–100)",  # 24 months: 0.838, 0.661
        "73% (51–100)",  # 36 months: 0.733, 0.512
        "not reached",  # median RFS: curve never reaches 50 %
        "operations dated 2004-01-01 to 2012-12-31",
        "Not a medical device",
        "Of 839 patients, 13 needed salvage renal surgery.",
        "hand-made fixture note",
        "lifelines 0.30.3",
    ]
    missing = [e for e in expected if e.replace("<", "&lt;") not in text and e not in text]
    assert not missing, f"not in report: {missing}"
    # 60-month RFS is null in the input: a dash, with the reason given.
    assert "beyond the last follow-up" in text
    for section in (
        "Methods",
        "Results",
        "Table 1.",
        "Table 2.",
        "Kidney function",
        "Recurrence-free survival",
        "Software versions",
    ):
        assert section in text


def test_html_is_self_contained_and_script_free(study: dict[str, Any]) -> None:
    html = render_salvage_html(SalvageReportInput(study, kidney_pairs=PAIRS))
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert not re.search(r'src="(?!data:)', html), "every image must be a data: URI"
    assert html.count('src="data:image/png;base64,') == 2  # eGFR plot and KM curve
    assert "nan" not in _text(html).lower().split()
    assert "None" not in _text(html)


def test_values_are_html_escaped(study: dict[str, Any]) -> None:
    study["notes"] = ["<b>bold</b> & more"]
    html = render_salvage_html(SalvageReportInput(study))
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in html


def test_missing_pairs_drop_the_plot_with_a_note(study: dict[str, Any]) -> None:
    html = render_salvage_html(SalvageReportInput(study))
    assert html.count("data:image/png;base64,") == 1  # KM curve only
    assert "before/after plot is omitted" in _text(html)


def test_empty_cohort_renders_dashes_with_the_reason(empty: dict[str, Any]) -> None:
    html = render_salvage_html(SalvageReportInput(empty))
    text = _text(html)
    assert f"0 ({DASH})" in text  # 0 of 0 operated: no percentage
    assert text.count(DASH) >= 10
    assert "no salvage nephrectomy in the window" in text
    assert "no patient has both a pre- and a post-operative creatinine" in text
    assert "no salvage patients, so no survival curve" in text
    assert "not estimable or not recorded" in text
    assert "None" not in text


def test_single_patient_renders(study: dict[str, Any]) -> None:
    one = dict(study, n_salvage=1, male_n=1, age_sd=None, age_min=64.0, age_max=64.0)
    html = render_salvage_html(SalvageReportInput(one, kidney_pairs=PAIRS[:1]))
    assert "SD is not defined for a single patient" in _text(html)


def test_missing_contract_key_is_named(study: dict[str, Any]) -> None:
    del study["renal_function"]
    with pytest.raises(ReportInputError, match="renal_function"):
        SalvageReportInput(study)


def test_templates_are_package_data() -> None:
    base = resources.files("renalpath.reports") / "templates"
    for name in (
        "base.html.j2",
        "salvage.html.j2",
        "survival.html.j2",
        "macros.html.j2",
        "report.css",
    ):
        assert (base / name).is_file(), name


def test_tableone_table_is_included(study: dict[str, Any]) -> None:
    import pandas as pd

    from renalpath.outcomes.table1 import table_one

    data = pd.DataFrame({"age": [50.0, 60.0, 70.0], "sex": ["male", "female", "male"]})
    t1 = table_one(data, ["age", "sex"], categorical=["sex"])
    for table1 in (t1.frame, t1.to_json_dict()):
        text = _text(render_salvage_html(SalvageReportInput(study, table1=table1)))
        assert "Table 1b" in text
        assert "60.0 (10.0)" in text  # mean (SD) of 50, 60, 70 computed by hand
