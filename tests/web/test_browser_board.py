"""Chromium end-to-end for the tumour-board workflow and the pages it touches.

A registry patient → "Evaluate this patient" (performance status as one field) → save →
next-board list → presented → decision → the decision in the concordance audit; the one-page
board sheet printed to PDF (exactly one A4 page for each of the 14 vignette cases); the case
form completed with the keyboard alone, a focus ring at every stop; refusals marked on their
fields and in view after submit.  Every page and every form, for every role:
test_browser_pages.py.  Same pattern as test_browser_registry.py (uvicorn on a free port, Debian's
Chromium, skipped without it unless RENALPATH_REQUIRE_BROWSER=1).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from renalpath.registry.board_cases import create_case
from renalpath.registry.db import make_engine

from .registry_support import registry_db  # noqa: F401  (fixture)
from .test_browser import PASSWORD, _login, _shot, browser, page  # noqa: F401
from .test_browser_registry import _no_csp_errors, _serve

pytestmark = pytest.mark.browser
VIGNETTES = Path(__file__).resolve().parents[1] / "pathway" / "cases"


@pytest.fixture(scope="module")
def board_db(registry_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """A private copy of the synthetic registry with one saved case per vignette."""
    db = tmp_path_factory.mktemp("board") / "registry.db"
    shutil.copy(registry_db, db)
    engine = make_engine(f"sqlite:///{db}")
    with sqlite3.connect(db) as conn:
        pid = conn.execute("select patient_id from patients order by patient_id").fetchone()[0]
    for f in sorted(VIGNETTES.glob("*.json")):
        create_case(
            engine,
            pid,
            json.loads(f.read_text()),
            {},
            "test-setup",
            question=f"Vignette {f.stem.split('_')[0]}: which treatment?",
        )
    engine.dispose()
    return db


@pytest.fixture(scope="module")
def server(board_db: Path) -> Iterator[str]:
    yield from _serve(board_db)


def _first_patient(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return str(
            conn.execute(
                "select p.patient_id from patients p join labs l on l.patient_id = p.patient_id "
                "join tumours t on t.patient_id = p.patient_id where l.test = 'creatinine' "
                "order by p.patient_id limit 1"
            ).fetchone()[0]
        )


def _untreated_patient(db: Path) -> str:
    """A patient with a localised tumour, a creatinine and no treatment yet: a first decision."""
    with sqlite3.connect(db) as conn:
        return str(
            conn.execute(
                "select p.patient_id from patients p where exists (select 1 from labs l where "
                "l.patient_id = p.patient_id and l.test = 'creatinine') and exists (select 1 "
                "from tumours t where t.patient_id = p.patient_id and t.cm = 'M0') and not "
                "exists (select 1 from interventions i where i.patient_id = p.patient_id) "
                "order by p.patient_id limit 1"
            ).fetchone()[0]
        )


def test_patient_to_board_decision(page, server: str, board_db: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    pid = _untreated_patient(board_db)
    _login(page, server)
    page.goto(f"{server}/patients/{pid}")
    _shot(page, "patient-header", full_page=False)  # summary, actions and the eGFR trend
    page.get_by_role("link", name="Evaluate this patient").click()
    page.wait_for_url(f"{server}/patients/{pid}/evaluate")
    prov = page.locator("#provenance")
    assert prov.locator('tr[data-path="kidney.creatinine.value"]').count() == 1
    row_text = prov.locator('tr[data-path="kidney.creatinine.value"]').inner_text()
    assert re.search(r"\d{4}-\d{2}-\d{2}", row_text) and "creatinine" in row_text
    # the form is pre-filled from the registry
    assert page.locator("#f-kidney-creatinine-value").input_value() != ""
    _shot(page, "case-from-registry", full_page=False)
    # performance status is one field; the live panel shows the other scale and its reading
    assert page.locator('[name^="patient.ecog"], [name^="patient.kps"]').count() == 0
    page.select_option("#f-patient-performance_status", "kps:90")
    page.locator("#derived").get_by_text("about ECOG 0").wait_for()
    board = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    page.fill("#m-question", "Partial nephrectomy or surveillance?")
    page.fill("#m-board_date", board)
    page.click("#save-case")
    page.wait_for_url(re.compile(r".*/cases/\d+\?saved=created"))
    case_url = page.url.split("?")[0]
    assert page.locator("#case-status").inner_text() == "Draft"
    # the browser's back and forward buttons: no 405, the case is still there
    page.go_back()
    assert page.locator("h1").inner_text().startswith("Case for patient")
    page.go_forward()
    assert page.locator("#case-status").inner_text() == "Draft"
    # next board list
    page.get_by_role("link", name="Board", exact=True).click()
    page.wait_for_url(f"{server}/board")
    link = page.locator(f'a[href="{case_url.removeprefix(server)}"]')
    assert link.count() == 1
    _shot(page, "board-list", full_page=False)
    link.click()
    page.click("#mark-presented")
    page.wait_for_url(re.compile(r".*saved=present"))
    assert page.locator("#case-status").inner_text() == "Presented at board"
    page.fill("#m-decision", "Robot-assisted partial nephrectomy")
    choices = page.locator("#m-decision_option option")
    assert choices.count() > 1  # the pathway's options for this case
    codes = choices.evaluate_all("os => os.map(o => o.value)")
    pn = "partial_nephrectomy"
    chosen = choices.nth(codes.index(pn) if pn in codes else 1)
    option_code, option_words = chosen.get_attribute("value"), chosen.inner_text()
    page.select_option("#m-decision_option", option_code)
    page.click("#record-decision")
    page.wait_for_url(re.compile(r".*saved=decide"))
    assert page.locator("#case-status").inner_text() == "Decision recorded"
    assert "Robot-assisted partial nephrectomy" in page.locator("#decision").inner_text()
    assert option_words in page.locator("#decision").inner_text()
    agreement = page.locator("#agreement").inner_text()  # the option's pathway status
    assert agreement and agreement != "not among the pathway's options"
    assert page.locator("#save-case").count() == 0  # closed
    _shot(page, "board-case-decided", full_page=False)
    # the decision is in the concordance audit, with the same pathway status
    case_id = case_url.rsplit("/", 1)[1]
    page.get_by_role("link", name="Concordance", exact=True).click()
    page.wait_for_url(f"{server}/studies/concordance")
    int(page.locator("#board-n").inner_text())  # a count
    page.locator("#board-decision-cases").locator("xpath=ancestor::details").locator(
        "summary"
    ).click()
    row = page.locator(f'#board-decision-cases tr[data-case="{case_id}"]')
    assert row.count() == 1
    cells = row.locator("td").all_inner_texts()
    assert cells[3] == option_words and cells[4] in agreement.split(" / ")
    page.locator("#board-h").scroll_into_view_if_needed()
    _shot(page, "concordance-board", full_page=False)
    row.get_by_role("link", name=f"case {case_id}").click()
    page.wait_for_url(case_url)
    page.goto(f"{server}/audit?entity=board_cases")
    assert page.locator('tr[data-entity="board_cases"]').count() >= 3
    _no_csp_errors(page)


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


def test_board_sheet_prints_on_one_a4_page(page, server: str, board_db: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _login(page, server)
    with sqlite3.connect(board_db) as conn:
        cases = conn.execute(
            "select id, question from board_cases where created_by = 'test-setup' order by id"
        ).fetchall()
    assert len(cases) == len(list(VIGNETTES.glob("*.json"))) == 14  # every vignette
    pages = {}
    for case_id, question in cases:
        page.goto(f"{server}/cases/{case_id}/sheet")
        sheet = page.locator("#board-sheet")
        text = sheet.inner_text()
        assert question in text and "Board decision" in text
        # clinical words only: no raw keys, no Python booleans
        for raw in (r"\bTrue\b", r"\bFalse\b", r"\bNone\b", r"[a-z]_[a-z]"):
            assert not re.search(raw, text), (case_id, raw)
        page.emulate_media(media="print")
        pdf = page.pdf(format="A4", print_background=False, prefer_css_page_size=True)
        page.emulate_media(media="screen")
        pages[question] = _pdf_pages(pdf)
        if case_id == cases[0][0]:
            _shot(page, "tumour-board-sheet", full_page=False)
    assert pages and all(n == 1 for n in pages.values()), pages


def test_phone_shows_the_live_panel_first(browser, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """(Every page at 390 px, for every role: test_browser_pages.py.)"""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    pg = context.new_page()
    try:
        _login(pg, server)
        pg.goto(f"{server}/case")
        # the live panel is on screen without scrolling
        box = pg.locator(".derived-card").bounding_box()
        assert box is not None and box["y"] < 844
        _shot(pg, "case-evaluation-phone", full_page=False)
        pg.goto(f"{server}/board")
        _shot(pg, "board-phone", full_page=False)
    finally:
        context.close()


def test_refusals_marked_on_their_fields_and_in_view(page, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _login(page, server)
    page.goto(f"{server}/case")
    page.fill("#f-tumour-size_mm", "0")
    page.fill("#f-kidney-creatinine-value", "120")
    page.select_option("#f-kidney-creatinine-unit", "mg/dL")
    page.click("#evaluate")
    page.locator("#error-summary").wait_for()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    box = summary.bounding_box()
    assert box is not None and 0 <= box["y"] < 900
    text = summary.inner_text()
    assert "Input should" not in text
    assert "1–400 mm" in text
    size = page.locator("#f-tumour-size_mm")
    assert size.get_attribute("aria-invalid") == "true"
    assert "1–400 mm" in page.locator("#err-f-tumour-size_mm").inner_text()
    # 120 is a plausible µmol/L value: the unit is blamed, not the number
    assert page.locator("#f-kidney-creatinine-unit").get_attribute("aria-invalid") == "true"
    assert "µmol/L" in page.locator("#err-f-kidney-creatinine-unit").inner_text()
    # the summary's link takes the keyboard to the field
    summary.get_by_role("link", name=re.compile("Tumour size")).click()
    assert page.evaluate("document.activeElement.id") == "f-tumour-size_mm"
    _no_csp_errors(page)


def test_patient_add_lab_error_is_in_view(page, server: str, board_db: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    pid = _first_patient(board_db)
    _login(page, server)
    page.goto(f"{server}/patients/{pid}")
    page.locator("#add-labs summary").click()
    form = page.locator("#add-labs form")
    form.locator('[name="date"]').fill("2020-01-01")
    form.locator('[name="test"]').select_option("creatinine")
    form.locator('[name="value"]').fill("120")
    form.locator('[name="unit"]').fill("mg/dL")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    invalid = page.locator("[aria-invalid=true]").first
    invalid.wait_for()
    box = invalid.bounding_box()
    assert box is not None and 0 <= box["y"] < 900, box
    _no_csp_errors(page)


FOCUSED = """() => {
  const e = document.activeElement, s = getComputedStyle(e), r = e.getBoundingClientRect();
  return {id: e.id, tag: e.tagName, name: e.getAttribute('name') || '',
          ring: (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)
                || s.boxShadow !== 'none',
          inView: r.width > 0 && r.bottom > 0 && r.top < window.innerHeight};
}"""


def _tab_to(pg, target: str, limit: int = 400) -> int:  # type: ignore[no-untyped-def]
    """Press Tab until the input `#target` has focus; every stop on the way must show where
    the keyboard is (a focus ring) and be on screen."""
    for step in range(1, limit + 1):
        pg.keyboard.press("Tab")
        now = pg.evaluate(FOCUSED)
        assert now["ring"] and now["inView"], (step, now)
        if now["id"] == target:
            return step
    raise AssertionError(f"#{target} not reached with {limit} Tab presses")


def test_keyboard_only_completes_the_case_form(page, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """Log in, fill the case, evaluate and follow a missing input — keyboard only, never a
    click or a programmatic focus, with a visible focus ring at every stop."""
    page.goto(f"{server}/login")
    assert page.evaluate("document.activeElement.id") == "username"  # focused on arrival
    page.keyboard.type("cleo")
    _tab_to(page, "password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server}/")
    page.goto(f"{server}/case")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["y"] >= 0  # visible when focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    typed = {
        "f-tumour-size_mm": "35",
        "f-kidney-creatinine-value": "1.35",
        "f-patient-age": "64",
    }
    chosen: dict[str, tuple[str | list[str], str]] = {  # select boxes: an option's first
        # letters pick it, as a person types them, or the arrow keys
        "f-tumour-side": ("left", "left"),
        "f-tumour-cn": ("N0", "N0"),
        "f-tumour-cm": ("M0", "M0"),
        "f-kidney-creatinine-unit": ("mg", "mg/dL"),
        "f-patient-sex": ("m", "male"),
        "f-patient-performance_status": (["ArrowDown", "ArrowDown"], "kps:90"),
        "f-patient-fit_for_surgery": ("y", "true"),
    }
    order = page.evaluate(
        "ids => [...document.querySelectorAll('#case-form [id]')].map(e => e.id)"
        ".filter(id => ids.includes(id))",
        [*typed, *chosen],
    )
    assert sorted(order) == sorted([*typed, *chosen])
    for target in order:  # in the order the form presents them
        _tab_to(page, target)
        if target in typed:
            page.keyboard.type(typed[target])
        else:
            keys, value = chosen[target]
            for key in [keys] if isinstance(keys, str) else keys:
                page.keyboard.type(key) if isinstance(keys, str) else page.keyboard.press(key)
            assert page.locator(f"#{target}").input_value() == value, target
    page.locator("#derived").get_by_text("about ECOG 0").wait_for()  # live panel followed
    _tab_to(page, "evaluate")
    page.keyboard.press("Enter")
    page.locator(".result h2").wait_for()
    assert page.locator('[data-option="partial_nephrectomy"]').count() >= 1
    # a missing input is a link the keyboard follows to its field
    links = page.locator(".missing-inputs a.field-link")
    assert links.count() >= 1
    first_href = links.first.get_attribute("href")
    assert first_href is not None
    for _ in range(600):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == first_href:
            break
    else:
        raise AssertionError("missing-input link not reached by Tab")
    assert page.evaluate(FOCUSED)["ring"]
    page.keyboard.press("Enter")
    assert page.evaluate("'#' + document.activeElement.id") == first_href


def test_study_form_shows_it_is_busy_and_refuses_a_second_submit(page, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _login(page, server, "rhea")
    page.goto(f"{server}/studies/survival")
    state = page.evaluate(
        """() => {
        const form = document.querySelector('form.study-form');
        form.addEventListener('submit', e => { e.preventDefault(); });  // stay on the page
        form.requestSubmit();
        const button = form.querySelector('button[type=submit]');
        const status = form.querySelector('.busy-note').textContent;
        return [button.disabled, status, form.getAttribute('aria-busy')];
      }"""
    )
    assert state == [True, "Running the analysis…", "true"]
