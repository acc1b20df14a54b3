"""End-to-end in Debian's Chromium (Playwright): log in, compute an eGFR, evaluate a case.

A real uvicorn server is started on a free 127.0.0.1 port.  Screenshots of the main pages are
written to docs/screenshots/ for the README.  Skips without /usr/bin/chromium unless
RENALPATH_REQUIRE_BROWSER=1 (CI), when it fails instead.  `playwright install` is never used.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from renalpath.web.app import create_app
from renalpath.web.auth import MemoryAccountStore
from renalpath.web.settings import WebSettings

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("RENALPATH_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Screenshots refresh the README's pictures only on request (RENALPATH_SCREENSHOTS=1), so an
# ordinary test run never dirties the working tree; otherwise they go to a throwaway folder.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("RENALPATH_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "renalpath-screenshots"
)
PASSWORD = "browser-test-password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    store = MemoryAccountStore()
    store.add("cleo", PASSWORD, "clinician")
    store.add("ada", PASSWORD, "admin")
    store.add("rhea", PASSWORD, "researcher")
    app = create_app(WebSettings(secret_key="browser-test"), store)
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if not CHROMIUM.exists():
        if os.environ.get("RENALPATH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"RENALPATH_REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.console_errors = errors
    yield pg
    context.close()


def _login(page, server: str, user: str = "cleo") -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server}/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")


def _shot(page, name: str, full_page: bool = True) -> None:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # caret="initial": hiding the caret makes Playwright inject a <style>, which our CSP blocks.
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page, caret="initial")


def test_login_and_mdrd_egfr(page, server: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server}/login")
    _shot(page, "login")
    _login(page, server)
    page.goto(f"{server}/calculators/egfr")
    page.fill("#f-creatinine", "1.35")
    page.locator("#f-creatinine").blur()
    # recomputed on change: untouched inputs are listed, not flagged as errors
    page.get_by_text("To calculate, fill in:").wait_for()
    assert page.locator(".field-error").count() == 0
    page.select_option("#f-unit", "mg/dL")
    page.fill("#f-age", "64")
    page.select_option("#f-sex", "male")
    page.select_option("#f-equation", "mdrd")
    page.click("#calc-submit")
    headline = page.locator("#result-headline")
    headline.wait_for()
    # MDRD, Levey 2006 example 1: 53.21 → 53, KDIGO G3a
    assert "eGFR 53 mL/min/1.73 m²" in headline.inner_text()
    assert "G3a" in headline.inner_text()
    assert page.url.endswith("/calculators/egfr")  # htmx swapped the fragment, no navigation
    _shot(page, "calculator-egfr")
    # an error is shown next to its field
    page.fill("#f-age", "12")
    page.click("#calc-submit")
    page.locator('[data-field="age"] .field-error').wait_for()
    assert "18" in page.locator('[data-field="age"] .field-error').inner_text()
    assert not [e for e in page.console_errors if "Content Security Policy" in e], (
        page.console_errors
    )


def test_case_evaluation_and_sheet(page, server: str) -> None:  # type: ignore[no-untyped-def]
    _login(page, server)
    page.goto(f"{server}/case")
    page.fill("#f-tumour-size_mm", "35")
    page.select_option("#f-tumour-side", "left")
    page.select_option("#f-tumour-cn", "N0")
    page.select_option("#f-tumour-cm", "M0")
    page.check("#f-tumour-extension-__present")
    page.fill("#f-tumour-renal-exophytic_pct", "60")
    page.fill("#f-tumour-renal-nearness_mm", "8")
    page.select_option("#f-tumour-renal-ap", "a")
    page.select_option("#f-tumour-renal-polar", "outside")
    page.select_option("#f-tumour-renal-hilar", "false")
    page.fill("#f-kidney-creatinine-value", "1.35")
    page.select_option("#f-kidney-creatinine-unit", "mg/dL")
    page.fill("#f-patient-age", "64")
    page.select_option("#f-patient-sex", "male")
    page.select_option("#f-patient-performance_status", "ecog:1")
    page.select_option("#f-patient-fit_for_surgery", "true")
    # derived values appear while typing (htmx), before evaluating
    derived = page.locator("#derived")
    derived.get_by_text("T1a N0 M0 — stage I").wait_for()
    derived.get_by_text("CKD G3a").wait_for()
    derived.get_by_text("4a").wait_for()
    page.click("#evaluate")
    option = page.locator('[data-option="partial_nephrectomy"][data-status="recommended"]')
    option.wait_for()
    assert "partial nephrectomy" in option.inner_text().lower()
    _shot(page, "case-evaluation")
    page.click("#sheet")
    page.get_by_role("heading", name="Tumour-board sheet").wait_for()
    assert page.locator('[data-option="partial_nephrectomy"]').count() >= 1
    page.emulate_media(media="print")
    _shot(page, "tumour-board-sheet-print")
    page.emulate_media(media="screen")
    assert not [e for e in page.console_errors if "Content Security Policy" in e], (
        page.console_errors
    )


def test_docs_page_loads_without_csp_errors(page, server: str) -> None:  # type: ignore[no-untyped-def]
    _login(page, server)
    page.goto(f"{server}/docs")
    page.get_by_text("/api/v1/calc/egfr").first.wait_for(timeout=20000)
    _shot(page, "api-docs", full_page=False)  # the full schema is very long
    assert not [e for e in page.console_errors if "Content Security Policy" in e], (
        page.console_errors
    )


def test_calculator_works_without_javascript(browser, server: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        _login(page, server)
        page.goto(f"{server}/calculators/egfr")
        page.fill("#f-creatinine", "1.35")
        page.select_option("#f-unit", "mg/dL")
        page.fill("#f-age", "64")
        page.select_option("#f-sex", "male")
        page.select_option("#f-equation", "mdrd")
        page.click("#calc-submit")  # a plain form POST re-renders the whole page
        assert "eGFR 53 mL/min/1.73 m²" in page.locator("#result-headline").inner_text()
    finally:
        context.close()


def test_admin_issues_token(page, server: str) -> None:  # type: ignore[no-untyped-def]
    _login(page, server, "ada")
    page.goto(f"{server}/admin/users")
    row = page.locator('tr[data-user="rhea"]')
    row.locator('input[name="label"]').fill("etl")
    row.get_by_role("button", name="New API token").click()
    token = page.locator("#new-token").inner_text()
    assert token.startswith("rp_")
    _shot(page, "admin-users")
