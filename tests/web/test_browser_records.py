"""Chromium end-to-end: add an event through the patient page form, see it in the timeline
and in the audit trail (same server pattern as test_browser_registry.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from .registry_support import registry_db  # noqa: F401  (fixture)
from .test_browser import _login, browser, page  # noqa: F401  (fixtures)
from .test_browser_registry import _no_csp_errors, server  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def test_add_event_via_form_then_audit(page, server: str, registry_db: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    with sqlite3.connect(registry_db) as conn:
        pid, tid = conn.execute(
            "select patient_id, tumour_id from tumours where patient_id in "
            "(select patient_id from patients where death_date is null) order by tumour_id limit 1"
        ).fetchone()
    _login(page, server)
    page.goto(f"{server}/patients/{pid}")
    page.locator("#add-events summary").click()
    form = page.locator("#add-events form")
    # first a refused value: the import's message appears next to its field
    form.locator("#events-date").fill("2100-01-01")
    form.locator("#events-type").select_option("local_recurrence")
    form.get_by_role("button", name="Add event").click()
    error = page.locator('#add-events [data-field="date"] .field-error')
    error.wait_for()
    assert error.inner_text() == "date: date is in the future"
    form = page.locator("#add-events form")
    form.locator("#events-date").fill("2021-04-05")
    form.locator("#events-tumour_id").select_option(tid)
    form.locator("#events-detail").fill("browser-added recurrence")
    form.get_by_role("button", name="Add event").click()
    page.locator("#saved").wait_for()
    row = page.locator('tr[data-kind="event"]', has_text="browser-added recurrence")
    assert row.count() == 1 and "2021-04-05" in row.inner_text()
    page.goto(f"{server}/audit?entity=events")
    hit = page.locator('tr[data-entity="events"][data-action="insert"]').first
    hit.wait_for()
    assert hit.locator(".reason").inner_text() == "added on the patient page"
    assert f'"tumour_id":"{tid}","date":"2021-04-05"' in hit.locator(".new").inner_text()
    _no_csp_errors(page)
