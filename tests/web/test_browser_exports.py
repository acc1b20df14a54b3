"""Chromium end-to-end for what a researcher may do: the concordance audit page with an
assumption stated, and the de-identified registry download (no registry ids in it).

Same server pattern as test_browser_registry.py (a private copy of the synthetic registry).
"""

from __future__ import annotations

import csv
import io
import sqlite3
import zipfile
from pathlib import Path

import pytest

from .registry_support import registry_db  # noqa: F401  (fixture)
from .test_browser import _login, _shot, browser, page  # noqa: F401  (fixtures)
from .test_browser_registry import _no_csp_errors, server  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def test_researcher_runs_concordance_with_an_assumption(page, server: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _login(page, server, "rhea")
    page.goto(f"{server}/studies/concordance")
    page.locator("#f-patient-fit_for_surgery").select_option("true")
    page.locator("#run-audit").click()
    page.locator("#n-treatments").wait_for()
    assert int(page.locator("#n-treatments").inner_text()) > 0
    # the stated assumption is echoed with the result, as the CLI echoes --assume
    assert page.locator("#assumptions").inner_text().strip() == "patient.fit_for_surgery = true"
    # the page is under Concordance in the menu, not under the salvage/survival Studies
    assert page.locator('nav a[aria-current="page"]').all_inner_texts() == ["Concordance"]
    # researchers see aggregates only: no per-treatment list with patient ids
    assert page.locator("#treatments").count() == 0
    _shot(page, "concordance")
    _no_csp_errors(page)


def test_researcher_downloads_deidentified_export(  # type: ignore[no-untyped-def]
    page,  # noqa: F811
    server: str,  # noqa: F811
    registry_db: Path,  # noqa: F811
) -> None:
    with sqlite3.connect(registry_db) as conn:
        ids = {r[0] for r in conn.execute("select patient_id from patients")}
        n_patients = len(ids)
    _login(page, server, "rhea")
    page.goto(f"{server}/export")
    assert page.locator("#dl-full").count() == 0  # the full export is not offered
    _shot(page, "export")
    with page.expect_download() as info:
        page.locator("#dl-deidentified").click()
    data = Path(info.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        patients = list(csv.DictReader(io.StringIO(zf.read("patients.csv").decode("utf-8"))))
        blob = "\n".join(zf.read(n).decode("utf-8") for n in zf.namelist())
    assert len(patients) == n_patients
    assert not [i for i in ids if i in blob]
    _no_csp_errors(page)
