"""Chromium end-to-end for the registry pages: import a synth folder and see its patients,
correct a lab value and find it in the audit trail, open the salvage study's KM plot.

Same pattern as test_browser.py (real uvicorn on a free 127.0.0.1 port, Debian's Chromium,
skip without it unless RENALPATH_REQUIRE_BROWSER=1).
"""

from __future__ import annotations

import shutil
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from renalpath.registry.db import make_engine, upgrade
from renalpath.synth.writer import write_registry
from renalpath.web.app import create_app
from renalpath.web.auth import MemoryAccountStore
from renalpath.web.settings import WebSettings

from .registry_support import registry_db  # noqa: F401  (fixture)
from .test_browser import PASSWORD, _free_port, _login, _shot, browser, page  # noqa: F401

pytestmark = pytest.mark.browser


def _serve(db: Path) -> Iterator[str]:
    store = MemoryAccountStore()
    store.add("cleo", PASSWORD, "clinician")
    store.add("ada", PASSWORD, "admin")
    store.add("rhea", PASSWORD, "researcher")
    settings = WebSettings(secret_key="browser-test", database_url=f"sqlite:///{db}")
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, store),
        host="127.0.0.1",
        port=port,
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
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def server(registry_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # noqa: F811
    """A server on a private copy of the synthetic registry (150 patients)."""
    db = tmp_path_factory.mktemp("browser") / "registry.db"
    shutil.copy(registry_db, db)
    yield from _serve(db)


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("browser-empty") / "empty.db"
    upgrade(make_engine(f"sqlite:///{db}"))
    yield from _serve(db)


def _no_csp_errors(pg) -> None:  # type: ignore[no-untyped-def]
    assert not [e for e in pg.console_errors if "Content Security Policy" in e], pg.console_errors


def test_import_folder_and_see_patients(browser, empty_server: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    folder = tmp_path / "csv"
    write_registry(folder, 10, 5)
    archive = tmp_path / "registry.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f.name)
    first_id = (folder / "patients.csv").read_text().splitlines()[1].split(",")[0]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.console_errors = []
    pg.on("console", lambda m: pg.console_errors.append(m.text) if m.type == "error" else None)
    try:
        _login(pg, empty_server)
        pg.goto(f"{empty_server}/import")
        pg.set_input_files("#f-file", str(archive))
        pg.fill("#f-reason", "browser test import")
        pg.click("#upload")
        pg.locator("#import-ok").wait_for()
        assert pg.locator('tr[data-file="patients"] td').nth(1).inner_text() == "10"
        _shot(pg, "import")
        pg.get_by_role("link", name="See the patients").click()
        pg.locator("#patient-count").wait_for()
        assert pg.locator("#patient-count").inner_text().startswith("10 patients")
        assert pg.locator(f'tr[data-patient="{first_id}"]').count() == 1
        _no_csp_errors(pg)
    finally:
        context.close()


def test_correct_lab_and_find_it_in_audit(page, server: str, registry_db: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    import sqlite3

    with sqlite3.connect(registry_db) as conn:
        lab_id, pid = conn.execute(
            "select id, patient_id from labs where test='creatinine' and unit='mg/dL' "
            "and egfr is not null order by id limit 1"
        ).fetchone()
    _login(page, server)
    page.goto(f"{server}/patients?q={pid}")
    page.get_by_role("link", name=pid).click()
    page.locator("#egfr-trend").wait_for()
    assert "computed from creatinine" in page.locator("#egfr-series").inner_text()
    _shot(page, "patient")
    row = page.locator(f'tr[data-lab="{lab_id}"]')
    row.locator('input[name="value"]').fill("1.23")
    row.locator('input[name="reason"]').fill("browser correction")
    row.get_by_role("button", name="Correct").click()
    page.locator("#saved").wait_for()
    assert page.locator(f'tr[data-lab="{lab_id}"] .lab-value').inner_text() == "1.23"
    page.goto(f"{server}/audit?entity=labs")
    hit = page.locator('tr[data-entity="labs"][data-action="update"]').first
    hit.wait_for()
    assert hit.locator(".reason").inner_text() == "browser correction"
    assert hit.locator(".new").inner_text() == "1.23"
    _shot(page, "audit", full_page=False)  # the trail is long: its first screen
    _no_csp_errors(page)


def test_salvage_study_shows_km_plot(page, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _login(page, server, "rhea")
    page.goto(f"{server}/studies/salvage")
    img = page.locator("#km-plot")
    img.wait_for()
    width = page.evaluate("document.getElementById('km-plot').naturalWidth")
    assert width > 100  # the PNG decoded (a blocked or broken data: URI has width 0)
    assert page.locator("#egfr-plot").count() == 1
    # the plot fits its card (an overflowing page would be wider than the 1280 px window)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    _shot(page, "study-salvage")
    _no_csp_errors(page)
