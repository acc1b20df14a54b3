"""Study pages read like the PDF report: numbered tables in words, fixed-time estimates with CIs
checked against lifelines, no CI without events, curves cut where few remain at risk."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from renalpath.outcomes.source import survival_frames
from renalpath.outcomes.survival import kaplan_meier
from renalpath.outcomes.survival_by_group import survival_study
from renalpath.registry.db import make_engine
from renalpath.reports.adapters import km_curve_from_fit
from renalpath.reports.plots import MIN_AT_RISK, at_risk_cut_days

from .conftest import login
from .registry_support import reg_client, registry_db  # noqa: F401  (fixtures)

lifelines = pytest.importorskip("lifelines")

DAYS_PER_MONTH = 365.25 / 12


class _Tables(HTMLParser):
    """Rows of every <table id=...> on a page, cell texts only."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or f"t{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _tables(html: str) -> dict[str, list[list[str]]]:
    p = _Tables()
    p.feed(html)
    return p.tables


def _expected_cell(durations: np.ndarray, events: np.ndarray, months: float) -> tuple[int, str]:
    """(at risk, 'S% (lo–hi)') from lifelines' KM and its event table (log-transform CI)."""
    t = months * DAYS_PER_MONTH
    kmf = lifelines.KaplanMeierFitter().fit(durations, events)
    at_risk = int((durations >= t).sum())
    s = float(kmf.survival_function_at_times(t).iloc[0])
    table = kmf.event_table
    table = table[(table.index <= t) & (table["observed"] > 0)]
    if s >= 1.0:
        return at_risk, "100% (no event yet, no CI)"
    var = float(
        (table["observed"] / (table["at_risk"] * (table["at_risk"] - table["observed"]))).sum()
    )
    z = 1.959963984540054
    lo, hi = s * math.exp(-z * math.sqrt(var)), min(1.0, s * math.exp(z * math.sqrt(var)))
    return at_risk, f"{100 * s:.0f}% ({100 * lo:.0f}–{100 * hi:.0f})"


def test_survival_page_estimates_match_lifelines(
    reg_client: TestClient,  # noqa: F811
    registry_db: Path,  # noqa: F811
) -> None:
    login(reg_client, "rhea")
    page = reg_client.get("/studies/survival?endpoint=overall")
    assert page.status_code == 200, page.text
    rows = _tables(page.text)["table-2"]
    assert rows[0] == ["Group", "Months", "At risk", "Survival, % (95% CI)"]
    engine = make_engine(f"sqlite:///{registry_db}")
    data = survival_study(survival_frames(engine, None, None), "overall", None, None, None).data
    engine.dispose()
    durations = data["time_days"].to_numpy(dtype=float)
    events = data["event"].to_numpy(dtype=bool)
    got = {r[1]: (int(r[2]), r[3]) for r in rows[1:]}
    assert set(got) == {"0", "12", "24", "36", "60"}
    for months, (n_risk, cell) in got.items():
        assert (n_risk, cell) == _expected_cell(durations, events, float(months)), months


def test_study_pages_speak_words_not_keys(reg_client: TestClient) -> None:  # noqa: F811
    login(reg_client, "rhea")
    salvage = reg_client.get("/studies/salvage").text
    for key in ("n_surgical_patients", "paired_t_p", "renal_function", "survival_at_"):
        assert key not in salvage
    assert "Table 1. Characteristics of the salvage cohort" in salvage
    assert "Paired t-test p" in salvage and 'scope="col"' in salvage
    survival = reg_client.get("/studies/survival?by=isup_grade").text
    assert ">ISUP grade</option>" in survival and ">Overall survival</option>" in survival


def test_rfs_without_events_has_no_ci(reg_client: TestClient) -> None:  # noqa: F811
    login(reg_client, "cleo")
    resp = reg_client.get("/studies/salvage")
    api = reg_client.get("/api/v1/studies/salvage").json()
    assert api["rfs"]["events"] == 0  # the fixture's salvage cohort has no recurrence
    rfs = _tables(resp.text)["rfs-table"]
    cells = [r[2] for r in rfs[1:] if r[0] != "Median RFS, months (95% CI)"]
    assert "100% (no event yet, no CI)" in cells
    assert not any(re.search(r"100% \(100", c) for c in cells)
    assert "100–100" not in resp.text


def test_min_at_risk_is_stated_on_page_and_in_report(reg_client: TestClient) -> None:  # noqa: F811
    login(reg_client, "cleo")
    page = reg_client.get("/studies/survival").text
    stated = f"Curves stop where fewer than {MIN_AT_RISK} patients remain at risk (project default)"
    assert stated in page
    report = reg_client.get("/studies/survival?format=html").text
    assert stated in report
    chosen = reg_client.get("/studies/salvage?min_at_risk=2&format=html").text
    assert "fewer than 2 patients remain at risk (chosen for this report)" in chosen
    bad = reg_client.get("/studies/survival?min_at_risk=0")
    assert bad.status_code == 422 and 'data-field="min_at_risk"' in bad.text


@pytest.mark.parametrize("threshold", [1, 5, 10, 40])
def test_curve_cut_where_fewer_remain_at_risk(threshold: int) -> None:
    rng = np.random.default_rng(threshold)
    durations = np.round(rng.exponential(700, 60)) + 1
    events = rng.random(60) < 0.6
    curve = km_curve_from_fit(kaplan_meier(durations, events))
    cut = at_risk_cut_days(curve, threshold)
    observed_times = np.unique(durations)
    if cut is None:  # never below the threshold: everyone's last time still has enough at risk
        assert (durations >= observed_times.max()).sum() >= threshold
        return
    # At the cut at least `threshold` are under observation; just after it, fewer.
    assert cut == 0.0 or (durations >= cut).sum() >= threshold
    after = observed_times[observed_times > cut]
    assert after.size and (durations >= after[0]).sum() < threshold


@pytest.mark.parametrize(
    "path", ["/studies/salvage", "/studies/survival", "/studies/concordance", "/audit"]
)
def test_every_table_has_a_caption_and_scoped_headers(reg_client: TestClient, path: str) -> None:  # noqa: F811
    login(reg_client, "cleo")
    html = reg_client.get(path).text
    tables = re.findall(r"<table\b.*?</table>", html, flags=re.S)
    assert tables
    for table in tables:
        assert "<caption>" in table, table[:200]
        assert not re.search(r"<th(?=[\s>])(?![^>]*\bscope=)[^>]*>", table), table[:200]
