"""Accessibility scan with axe-core in Chromium: no serious or critical violations.

axe-core comes from the npm registry, pinned in tests/web/axe/package-lock.json and installed
by `make axe` (`npm ci --prefix tests/web/axe`); without it the scan is skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .registry_support import registry_db  # noqa: F401  (fixture)
from .test_browser import _login, browser, page  # noqa: F401  (fixtures)
from .test_browser_registry import server  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
# WCAG 2.1 A and AA rules plus axe's best practices (landmarks, headings, table headers).
RUN_AXE = """async () => {
  const r = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
    resultTypes: ['violations']  // only violations are read: skip the passes' selectors
  });
  return r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary)
  }));
}"""

STUDY_PAGES = (
    "/studies/salvage",
    "/studies/survival?by=sex",
    "/studies/concordance",
    "/audit",
    "/audit?patient=SYN000001",
    "/studies/survival?min_at_risk=0",  # the form with an error shown
)


def _scan(pg, url: str) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    pg.goto(url)
    # The CSP forbids inline script, so axe is added as a file-backed script by the harness.
    pg.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")
    violations: list[dict[str, object]] = pg.evaluate(RUN_AXE)
    return [v for v in violations if v["impact"] in BLOCKING]


@pytest.fixture
def axe_page(page):  # type: ignore[no-untyped-def]  # noqa: F811
    if not AXE.exists():
        if os.environ.get("RENALPATH_REQUIRE_BROWSER") == "1":  # CI: `make test` installs it
            pytest.fail(f"RENALPATH_REQUIRE_BROWSER=1 but axe-core is missing ({AXE})")
        pytest.skip(f"axe-core not installed ({AXE}); run `make axe`")
    return page


def test_study_and_audit_pages_have_no_serious_violations(axe_page, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _login(axe_page, server, "cleo")
    found = {path: _scan(axe_page, server + path) for path in STUDY_PAGES}
    assert not {p: v for p, v in found.items() if v}, found


def test_calculator_pages_have_no_serious_violations(axe_page, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _login(axe_page, server, "cleo")
    axe_page.goto(f"{server}/calculators")
    links = axe_page.eval_on_selector_all(
        "main a[href^='/calculators/']", "els => [...new Set(els.map(e => e.getAttribute('href')))]"
    )
    assert links, "no calculator links on /calculators"
    found = {path: _scan(axe_page, server + path) for path in ["/calculators", *links]}
    assert not {p: v for p, v in found.items() if v}, found
