"""The concordance page shows the tumour board's recorded decisions against the pathway:
counts for everyone, the decisions one by one (they name patients) for clinicians only."""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient

from renalpath.registry.board_cases import create_case, update_case
from renalpath.registry.db import make_engine

from .conftest import login
from .registry_support import registry_db, rw_client  # noqa: F401  (fixtures)

V03 = Path(__file__).resolve().parents[1] / "pathway" / "cases" / "v03_fit_ct1a.json"


def _decide(db: Path, option: str, day: dt.date) -> int:
    engine = make_engine(f"sqlite:///{db}")
    with sqlite3.connect(db) as conn:
        pid = conn.execute("select patient_id from patients order by 1 limit 1").fetchone()[0]
    case_id = create_case(engine, pid, json.loads(V03.read_text()), {}, "t", question="PN?")
    update_case(
        engine,
        case_id,
        {
            "status": "decided",
            "decision": "as the board agreed",
            "decision_option": option,
            "decision_date": day,
        },
        "t",
        "decided",
    )
    engine.dispose()
    return case_id


def test_board_decisions_appear_on_the_concordance_page(rw_client: TestClient) -> None:  # noqa: F811
    day = dt.date.today()
    pn = _decide(rw_client.db_path, "partial_nephrectomy", day)  # recommended for V03
    rn = _decide(rw_client.db_path, "radical_nephrectomy", day)  # not recommended for V03
    login(rw_client, "cleo")
    html = rw_client.get("/studies/concordance").text
    assert re.search(r'id="board-n">2<', html)
    assert re.search(r'id="board-concordant-pct">50.0 %<', html)
    row = re.search(r'<tr data-category="recommended"><td>Recommended</td><td>(\d+)<', html)
    assert row is not None and row.group(1) == "1"
    for case_id, status in ((pn, "Recommended"), (rn, "Not recommended")):
        found = re.search(rf'<tr data-case="{case_id}">.*?</tr>', html, re.S)
        assert found is not None and f"<td>{status}</td>" in found.group(0)
    # a window that ends before the decisions leaves them out
    before = (day - dt.timedelta(days=1)).isoformat()
    html = rw_client.get(f"/studies/concordance?to={before}").text
    assert re.search(r'id="board-n">0<', html)
    # researchers: the counts, not the cases (they name patients)
    rw_client.cookies.clear()
    login(rw_client, "rhea")
    html = rw_client.get("/studies/concordance").text
    assert re.search(r'id="board-n">2<', html) and 'id="board-decision-cases"' not in html
