"""Every page of the application, for every role that may open it, in Chromium.

The pages are not listed by hand: they are the app's own GET routes (everything under /api is
JSON, not a page), each given concrete addresses from the synthetic registry with the 14
vignette board cases (`test_browser_board.board_db`), and a test fails when a new route has
no address here.  For each page and role: no sideways scrolling at 390 px (phone) nor at
1440 px, and axe-core finds no serious or critical violation.
"""

from __future__ import annotations

import io
import os
import sqlite3
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from renalpath.calculators import OWNERS as CALCULATORS
from renalpath.web.app import create_app
from renalpath.web.auth import MemoryAccountStore
from renalpath.web.settings import WebSettings

from .registry_support import registry_db  # noqa: F401  (fixture)
from .test_browser import PASSWORD, _free_port, _login, browser  # noqa: F401  (fixture)
from .test_browser_board import board_db  # noqa: F401  (fixture)
from .test_browser_registry import _no_csp_errors

pytestmark = pytest.mark.browser

ROLES = {"cleo": "clinician", "ada": "admin", "rhea": "researcher"}
AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """async () => {
  const r = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
    resultTypes: ['violations']  // only violations are read: skip the passes' selectors
  });
  return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')));
}"""
WIDEST = """() => [...document.querySelectorAll('body *')].filter(e =>
  e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-scroll, table'))
  .slice(0, 3).map(e => e.tagName + '.' + e.className + '#' + e.id + ':'
                   + Math.round(e.getBoundingClientRect().right))"""
# GET routes that are not pages a person reads: machine documents and redirects.
NOT_PAGES = {
    "/openapi.json": "the OpenAPI document (JSON)",
    "/docs/oauth2-redirect": "a redirect helper of the API docs",
    "/favicon.ico": "an icon",
    "/healthz": "a health check (JSON)",
}


@pytest.fixture(scope="module")
def server(board_db: Path) -> Iterator[str]:  # noqa: F811
    """As test_browser_board's server, but an import never waits: its job page is shown."""
    store = MemoryAccountStore()
    for user, role in ROLES.items():
        store.add(user, PASSWORD, role)  # type: ignore[arg-type]
    settings = WebSettings(
        secret_key="browser-test", database_url=f"sqlite:///{board_db}", import_wait_s=0.0
    )
    config = uvicorn.Config(
        create_app(settings, store),
        host="127.0.0.1",
        port=_free_port(),
        log_level="warning",
        lifespan="off",
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{config.port}"
    srv.should_exit = True
    thread.join(10)


def get_routes() -> list[str]:
    """Path templates of the app's GET routes outside /api (walking included routers)."""
    app = create_app(WebSettings(secret_key="routes"), MemoryAccountStore())
    found: list[str] = []

    def walk(routes: Any, prefix: str) -> None:
        for r in routes:
            if hasattr(r, "original_router"):  # FastAPI's included router
                walk(r.original_router.routes, prefix + (r.include_context.prefix or ""))
                continue
            path = prefix + str(getattr(r, "path", ""))
            methods = getattr(r, "methods", None) or set()
            if "GET" in methods and not path.startswith("/api") and path not in found:
                found.append(path)

    walk(app.routes, "")
    return found


def _rows(db: Path, query: str, *args: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(query, args).fetchall()


def page_addresses(db: Path, job_url: str) -> dict[str, list[str]]:
    """Concrete addresses for each route template (several where the page differs by kind)."""
    pid = str(
        _rows(
            db,
            "select patient_id from interventions i join pathology p using "
            "(intervention_id) join labs l using (patient_id) join events e using "
            "(patient_id) order by 1 limit 1",
        )[0][0]
    )
    records = [f"/patients/{pid}/records/patients/{pid}"]
    for name, query in (
        ("tumours", "select tumour_id from tumours where patient_id=?"),
        ("interventions", "select intervention_id from interventions where patient_id=?"),
        (
            "pathology",
            "select p.intervention_id from pathology p join interventions i using "
            "(intervention_id) where i.patient_id=?",
        ),
        ("labs", "select id from labs where patient_id=?"),
        ("events", "select id from events where patient_id=?"),
    ):
        rows = _rows(db, query + " limit 1", pid)
        assert rows, (name, pid)
        records.append(f"/patients/{pid}/records/{name}/{rows[0][0]}")
    imaging = _rows(
        db, "select i.id, t.patient_id from imaging i join tumours t using (tumour_id) limit 1"
    )
    if imaging:
        records.append(f"/patients/{imaging[0][1]}/records/imaging/{imaging[0][0]}")
    case_ids = [r[0] for r in _rows(db, "select id from board_cases order by id")]
    return {
        "/login": ["/login"],
        "/account/password": ["/account/password"],
        "/": ["/"],
        "/calculators": ["/calculators"],
        "/calculators/{name}": [f"/calculators/{n}" for n in CALCULATORS],
        "/case": ["/case"],
        "/case/sheet": ["/case/sheet"],  # a reload of a sheet lands on the form
        "/admin/users": ["/admin/users"],
        "/studies/salvage": ["/studies/salvage"],
        "/studies/survival": ["/studies/survival", "/studies/survival?min_at_risk=0"],
        "/patients": ["/patients", "/patients?sex=unknown"],
        "/patients/{patient_id}": [f"/patients/{pid}", "/patients/nobody"],
        "/patients/{patient_id}/records/{name}/{raw}": records,
        "/audit": ["/audit", f"/audit?patient={pid}", "/audit?from=yesterday"],
        "/patients/{patient_id}/evaluate": [f"/patients/{pid}/evaluate"],
        "/cases/{case_id}": [f"/cases/{i}" for i in case_ids[:3]],
        "/cases/{case_id}/sheet": [f"/cases/{i}/sheet" for i in case_ids],
        "/board": ["/board", f"/board?patient_id={pid}", "/board?date=2030-02-30"],
        "/import": ["/import"],
        "/import/jobs/{job_id}": [job_url],
        "/export": ["/export"],
        "/studies/concordance": ["/studies/concordance", "/studies/concordance?patient.ecog=9"],
        "/docs": ["/docs"],
    }


def test_every_get_route_has_an_address_here(board_db: Path) -> None:  # noqa: F811
    """A new page must be added to `page_addresses`, or to NOT_PAGES with the reason."""
    known = set(page_addresses(board_db, "/import/jobs/0")) | set(NOT_PAGES)
    routes = get_routes()
    assert "/cases/{case_id}/sheet" in routes and "/healthz" in routes  # the walk works
    missing = [r for r in routes if r not in known]
    assert not missing, missing


def _start_import_job(pg: Any, server: str, tmp: Path) -> str:  # type: ignore[misc]
    """An import job page: a zip whose patients file has a refused row (nothing written)."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr("patients.csv", "patient_id,sex,birth_date\nNEW1,unknown,2999-01-01\n")
    archive = tmp / "refused.zip"
    archive.write_bytes(data.getvalue())
    pg.goto(f"{server}/import")
    pg.set_input_files("#f-file", str(archive))
    pg.click("#validate")
    pg.wait_for_url(f"{server}/import/jobs/**")
    pg.locator("main").wait_for()
    return str(pg.url).removeprefix(server)


@pytest.fixture(scope="module")
def visits(browser, server: str, board_db: Path, tmp_path_factory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]  # noqa: F811
    """Each role's contexts, logged in; the import job belongs to the clinician."""
    tmp = tmp_path_factory.mktemp("pages")
    contexts = {}
    for user in ROLES:
        ctx = browser.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
        pg = ctx.new_page()
        _login(pg, server, user)
        contexts[user] = (ctx, pg)
    job = _start_import_job(contexts["cleo"][1], server, tmp)
    yield {"contexts": contexts, "addresses": page_addresses(board_db, job)}
    for ctx, _ in contexts.values():
        ctx.close()


def _each_page(  # type: ignore[misc]
    visits: dict[str, Any], server: str
) -> Iterator[tuple[str, str, Any]]:
    """(role user, address, page) for every address a role may open; the import job page is
    its owner's only."""
    for user, (_, pg) in visits["contexts"].items():
        for template, addresses in visits["addresses"].items():
            for address in addresses:
                if template == "/import/jobs/{job_id}" and user != "cleo":
                    continue
                resp = pg.goto(server + address)
                if resp is not None and resp.status == 403:
                    continue  # not this role's page (the navigation does not offer it)
                if address == "/docs":
                    pg.get_by_text("/api/v1/calc/egfr").first.wait_for(timeout=30000)
                yield user, address, pg


@pytest.fixture(scope="module")
def walk(visits: dict[str, Any], server: str) -> dict[str, Any]:
    """One walk over every page each role may open, measuring what both checks below need.

    Each address is loaded once per role (loading is most of the cost): at 390 px its width
    is measured; the first role to open it measures it at 1440 px too (the navigation differs
    by role, so every role is checked on a phone); then axe-core scans it at 1280 px.
    """
    too_wide: dict[str, Any] = {}
    seen: set[str] = set()
    axe_found: dict[str, Any] = {}
    axe_checked = 0
    source = AXE.read_text(encoding="utf-8") + "\n;void 0" if AXE.exists() else None
    for user, address, pg in _each_page(visits, server):
        widths = (390,) if address in seen else (390, 1440)
        for width in widths:
            pg.set_viewport_size({"width": width, "height": 844})
            scroll, inner = pg.evaluate(
                "[document.scrollingElement.scrollWidth, window.innerWidth]"
            )
            if scroll > inner:
                too_wide[f"{user} {width}px {address}"] = (scroll, pg.evaluate(WIDEST))
        seen.add(address)
        if source is not None:
            pg.set_viewport_size({"width": 1280, "height": 900})
            pg.evaluate(source)
            bad = pg.evaluate(RUN_AXE)
            axe_checked += 1
            if bad:
                axe_found[f"{user} {address}"] = bad
        pg.set_viewport_size({"width": 390, "height": 844})
    return {"too_wide": too_wide, "seen": seen, "axe_found": axe_found, "axe_checked": axe_checked}


def test_no_page_scrolls_sideways_for_any_role(
    visits: dict[str, Any], walk: dict[str, Any]
) -> None:
    assert not walk["too_wide"], walk["too_wide"]
    every = {a for addresses in visits["addresses"].values() for a in addresses}
    assert walk["seen"] == every, every - walk["seen"]  # each page was opened by one role or more


def test_axe_finds_no_serious_violation_on_any_page_for_any_role(
    visits: dict[str, Any], walk: dict[str, Any]
) -> None:
    if not AXE.exists():
        if os.environ.get("RENALPATH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"RENALPATH_REQUIRE_BROWSER=1 but axe-core is missing ({AXE})")
        pytest.skip(f"axe-core not installed ({AXE}); run `make axe`")
    assert not walk["axe_found"], walk["axe_found"]
    assert walk["axe_checked"] >= sum(len(a) for a in visits["addresses"].values())


def test_docs_with_operations_open_passes_axe(visits: dict[str, Any], server: str) -> None:
    """The API reference as used, not only as loaded: an operation opened with "Try it out"
    (its request body editor), another one run (its curl, request URL and live response)."""
    if not AXE.exists():
        pytest.skip(f"axe-core not installed ({AXE}); run `make axe`")
    _, pg = visits["contexts"]["cleo"]
    pg.set_viewport_size({"width": 1280, "height": 900})
    try:
        pg.goto(f"{server}/docs")
        post = pg.locator("#operations-pathway-recommend_route_api_v1_recommend_post")
        get = pg.locator("#operations-calculators-list_calculators_api_v1_calc_get")
        post.locator(".opblock-summary-control").click(timeout=30000)
        post.locator(".try-out__btn").click()
        post.locator("textarea.body-param__text").wait_for()
        get.locator(".opblock-summary-control").click()
        get.locator(".try-out__btn").click()
        get.locator(".execute").click()
        get.locator(".live-responses-table .response-col_status").first.wait_for()
        pg.evaluate(AXE.read_text(encoding="utf-8") + "\n;void 0")
        assert pg.evaluate(RUN_AXE) == []
        pg.set_viewport_size({"width": 390, "height": 844})
        scroll, inner = pg.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
        assert scroll <= inner, pg.evaluate(WIDEST)
    finally:
        pg.set_viewport_size({"width": 390, "height": 844})


def test_logged_out_pages(browser, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    ctx = browser.new_context(viewport={"width": 390, "height": 844})
    pg = ctx.new_page()
    pg.console_errors = []
    pg.on("console", lambda m: pg.console_errors.append(m.text) if m.type == "error" else None)
    try:
        for address in ("/login", "/login?next=/board"):
            pg.goto(server + address)
            scroll, inner = pg.evaluate(
                "[document.scrollingElement.scrollWidth, window.innerWidth]"
            )
            assert scroll <= inner, address
        _no_csp_errors(pg)
    finally:
        ctx.close()


# ------------------------------------------------------------------ refused forms, every one
# After a refused submit: every control an error is about carries aria-invalid="true" and
# names its message (aria-describedby → an element holding it), every message beside a field
# belongs to a control so marked, and the first error is in the viewport without scrolling.
CHECK_ERRORS = """(expected) => {
  const out = {unmarked: [], orphans: [], first: null, inView: false};
  for (const sel of expected) {
    const c = document.querySelector(sel);
    if (!c) { out.unmarked.push(sel + ' (missing)'); continue; }
    const ids = (c.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);
    const said = ids.map(i => document.getElementById(i)).filter(Boolean)
      .map(e => e.textContent.trim()).join(' ');
    if (c.getAttribute('aria-invalid') !== 'true' || !said) out.unmarked.push(sel);
  }
  for (const msg of document.querySelectorAll('main .field-error')) {
    const box = msg.closest('.field, [data-field]');
    const c = box && box.querySelector('input:not([type=hidden]), select, textarea');
    if (msg.closest('#derived, .derived-card')) continue;  // live panel notes, not form errors
    if (!c || c.getAttribute('aria-invalid') !== 'true') out.orphans.push(msg.textContent.trim());
  }
  const first = document.getElementById('error-summary')
    || document.querySelector('main [aria-invalid=true]')
    || document.querySelector('main [role=alert]');
  if (first) {
    const r = first.getBoundingClientRect();
    out.first = first.id || first.tagName;
    out.inView = r.height > 0 && r.top >= -1 && r.top < window.innerHeight;  // sub-pixel
  }
  return out;
}"""


def _assert_errors_marked(pg: Any, expected: list[str], what: str) -> None:  # type: ignore[misc]
    pg.wait_for_load_state()
    pg.locator("main [aria-invalid=true]").first.wait_for(timeout=15000)
    found = pg.evaluate(CHECK_ERRORS, expected)
    assert not found["unmarked"] and not found["orphans"], (what, found)
    assert found["inView"], (what, found)


def _fill_and_submit(pg: Any, fills: dict[str, str], submit: str) -> None:  # type: ignore[misc]
    for selector, value in fills.items():
        control = pg.locator(selector)
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    pg.click(submit)


@pytest.mark.parametrize("width", [1280, 390])
def test_every_refused_form_marks_its_fields_and_shows_the_error(  # type: ignore[no-untyped-def]
    browser,  # noqa: F811
    server: str,
    board_db: Path,  # noqa: F811
    tmp_path: Path,
    width: int,
) -> None:
    addresses = page_addresses(board_db, "/import")
    pid = addresses["/patients/{patient_id}"][0].rsplit("/", 1)[1]
    lab_id = _rows(
        board_db,
        "select id from labs where patient_id=? and test='creatinine' order by id limit 1",
        pid,
    )[0][0]
    case_id = _rows(
        board_db, "select id from board_cases where status != 'decided' order by id limit 1"
    )[0][0]
    not_a_zip = tmp_path / "registry.zip"
    not_a_zip.write_text("not a zip")
    ctx = browser.new_context(viewport={"width": width, "height": 844})
    pg = ctx.new_page()
    try:
        _login(pg, server, "cleo")
        checked = []

        def check(address: str, fills: dict[str, str], submit: str, expected: list[str]) -> None:
            pg.goto(server + address)
            _fill_and_submit(pg, fills, submit)
            _assert_errors_marked(pg, expected, address)
            checked.append(address)

        # the case form: a size out of range, a creatinine in the other unit
        check(
            "/case",
            {
                "#f-tumour-size_mm": "0",
                "#f-kidney-creatinine-value": "120",
                "#f-kidney-creatinine-unit": "mg/dL",
            },
            "#evaluate",
            ["#f-tumour-size_mm", "#f-kidney-creatinine-unit"],
        )
        # the board case: a clinical question longer than allowed
        check(
            f"/patients/{pid}/evaluate", {"#m-question": "x" * 4001}, "#save-case", ["#m-question"]
        )
        # the board's decision without the decision written
        check(f"/cases/{case_id}", {"#m-decision": " "}, "#record-decision", ["#m-decision"])
        # every calculator, submitted empty: each required input is named
        for name in CALCULATORS:
            pg.goto(f"{server}/calculators/{name}")
            pg.click("#calc-submit")
            pg.locator("#calc-body [aria-invalid=true]").first.wait_for()
            found = pg.evaluate(CHECK_ERRORS, [])
            assert not found["orphans"] and found["inView"], (name, found)
            focused = pg.evaluate("document.activeElement.getAttribute('aria-invalid')")
            assert focused == "true", name  # the keyboard is on the first refused input
            checked.append(f"/calculators/{name}")
        # a registry record: a lab value that is not a number
        check(
            f"/patients/{pid}/records/labs/{lab_id}",
            {"#edit-reason": "test", "[name=value]": "abc"},
            "button:text('Save correction')",
            ["[name=value]"],
        )
        # the inline lab correction on the patient page
        pg.goto(f"{server}/patients/{pid}")
        row = pg.locator(f'tr[data-lab="{lab_id}"]')
        row.locator('input[name="value"]').fill("abc")
        row.locator('input[name="reason"]').fill("typo")
        row.get_by_role("button", name="Correct").click()
        _assert_errors_marked(pg, [f'tr[data-lab="{lab_id}"] input[name="value"]'], "lab")
        checked.append("lab correction")
        # one's own password: the two new ones differ
        check(
            "/account/password",
            {
                "#current": PASSWORD,
                "#new": "a long new passphrase 1",
                "#confirm": "another passphrase 2",
            },
            "main button[type=submit]",
            ["#confirm"],
        )
        # an upload that is not a zip
        pg.goto(f"{server}/import")
        pg.set_input_files("#f-file", str(not_a_zip))
        pg.click("#validate")
        _assert_errors_marked(pg, ["#f-file"], "/import")
        checked.append("/import")
        # filters and study forms (GET): a value they refuse
        for address, expected in (
            ("/patients?sex=unknown", ["#f-sex"]),
            ("/audit?from=yesterday", ["#f-from"]),
            ("/board?date=2030-02-30", ["#b-date"]),
            ("/studies/survival?min_at_risk=0", ["#f-min_at_risk"]),
            ("/studies/salvage?from=2024-13-01", ["#f-from"]),
            ("/studies/concordance?patient.ecog=9", ["#f-patient-ecog"]),
        ):
            pg.goto(server + address)
            _assert_errors_marked(pg, expected, address)
            checked.append(address)
        # an admin adding a user with a guessable password
        pg.context.clear_cookies()
        _login(pg, server, "ada")
        check(
            "/admin/users",
            {"#new-name": "newcomer", "#new-password": "password12"},
            "section.card button[type=submit]",
            ["#new-password"],
        )
        assert len(checked) >= 12 + len(CALCULATORS)
    finally:
        ctx.close()
