"""Study pages in Chromium: loading feedback, disabled submit, one request per click."""

from __future__ import annotations

import pytest

from .registry_support import registry_db  # noqa: F401  (fixture)
from .test_browser import _login, browser, page  # noqa: F401  (fixtures)
from .test_browser_registry import _no_csp_errors, server  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser

CLICK_TWICE = """() => {
  const b = document.getElementById('run-study');
  b.click(); b.click();
  return [b.disabled, document.querySelector('.busy-note').textContent];
}"""


def test_study_submit_is_disabled_while_running(page, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _login(page, server, "rhea")
    page.goto(f"{server}/studies/survival")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/studies/survival?" in r.url else None)
    page.select_option("#f-by", "sex")
    with page.expect_navigation():
        disabled, note = page.evaluate(CLICK_TWICE)
    assert disabled is True and note == "Running the analysis…"
    assert len(requests) == 1, requests
    assert "by=sex" in page.url
    # the new page is usable again
    assert page.locator("#run-study").is_enabled()
    _no_csp_errors(page)


def test_pdf_link_shows_progress_and_downloads_once(page, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _login(page, server, "rhea")
    page.goto(f"{server}/studies/salvage")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "format=pdf" in r.url else None)
    with page.expect_download(timeout=60_000) as info:
        busy = page.evaluate("""() => {
          const a = document.getElementById('dl-pdf');
          a.click(); a.click();
          return [a.getAttribute('aria-busy'), document.querySelector('.busy-note').textContent];
        }""")
    assert busy == ["true", "Preparing the PDF…"]
    assert info.value.suggested_filename == "salvage-report.pdf"
    page.locator(".busy-note", has_text="PDF ready.").wait_for()
    assert page.locator("#dl-pdf").get_attribute("aria-busy") is None
    assert len(requests) == 1, requests
    _no_csp_errors(page)
