"""Board decisions against the pathway: each counted by the status of the option chosen.

Expected statuses from the vignette's own expected result (V03, a fit patient with a cT1a
tumour: partial nephrectomy recommended, radical nephrectomy not recommended), which the
pathway tests check against the guideline text.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from renalpath.outcomes.board_concordance import board_concordance
from renalpath.registry.board_cases import SavedCase

V03 = Path(__file__).resolve().parents[1] / "pathway" / "cases" / "v03_fit_ct1a.json"


def _case(case_id: int, option: str | None, case: dict[str, Any], status: str = "decided") -> Any:
    return SavedCase(
        id=case_id,
        patient_id=f"P{case_id}",
        status=status,
        board_date=None,
        question=None,
        case=case,
        provenance={},
        decision="as discussed",
        decision_option=option,
        decision_date=dt.date(2025, 3, 1),
        created_by="t",
        created_at="",
        updated_at="",
    )


def test_each_decision_is_counted_by_the_status_of_its_option() -> None:
    v03 = json.loads(V03.read_text())
    cases = [
        _case(1, "partial_nephrectomy", v03),
        _case(2, "radical_nephrectomy", v03),
        _case(3, "metastasectomy", v03),  # not an option for a localised tumour
        _case(4, None, v03),  # e.g. "repeat imaging first"
        _case(5, "partial_nephrectomy", {"patient": {"age": 400}}),  # no longer accepted
        _case(6, "partial_nephrectomy", v03, status="presented"),  # not decided: not counted
    ]
    result = board_concordance(cases)
    assert [(d.case_id, d.category) for d in result.decisions] == [
        (1, "recommended"),
        (2, "not_recommended"),
        (3, "not_listed"),
        (4, "no_option"),
        (5, "case_refused"),
    ]
    counts = result.counts
    assert counts["recommended"] == 1 and counts["alternative"] == 0
    assert result.with_option == 3  # 1, 2, 3: an option chosen and the case evaluable
    assert result.concordant_pct == 33.3


def test_no_decision_means_no_rate() -> None:
    result = board_concordance([])
    assert result.concordant_pct is None and sum(result.counts.values()) == 0
