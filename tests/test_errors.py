"""Expected failures by kind: each exception class has its kind, each front end maps kinds once.

A bug (any other exception) must stay a bug: a traceback in the CLI, a 500 with a logged trace
on the web — never a clinical refusal.
"""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from renalpath import errors as E
from renalpath.cli import app as cli_app
from renalpath.clinical.common import ClinicalInputError, Problem
from renalpath.registry.accounts import AccountError
from renalpath.registry.db import SchemaError
from renalpath.registry.deidentify import DeidentifyError
from renalpath.registry.frames import FramesError
from renalpath.registry.records import RecordConflict, RecordNotFound, RecordRefused
from renalpath.reports.inputs import ReportInputError
from renalpath.reports.pdf import PdfUnavailableError
from renalpath.synth.writer import SynthOutputError
from renalpath.web.api.concordance import AuditRefused
from renalpath.web.api.imports import UploadRefused
from renalpath.web.errors import install_handlers
from renalpath.web.lab_edit import LabEditRefused, LabNotFound
from renalpath.web.pages.studies import StudyRefused

KINDS = [
    (ClinicalInputError, E.InvalidInput),
    (FramesError, E.Refusal),
    (AccountError, E.Refusal),
    (SchemaError, E.SchemaMissing),
    (DeidentifyError, E.Refusal),
    (RecordConflict, E.Conflict),
    (RecordNotFound, E.NotFound),
    (RecordRefused, E.Refusal),
    (ReportInputError, E.Refusal),
    (PdfUnavailableError, E.Refusal),
    (SynthOutputError, E.Refusal),
    (AuditRefused, E.Refusal),
    (UploadRefused, E.Refusal),
    (LabEditRefused, E.Refusal),
    (LabNotFound, E.NotFound),
    (StudyRefused, E.Refusal),
]


@pytest.mark.parametrize(("cls", "kind"), KINDS, ids=lambda c: c.__name__)
def test_every_expected_failure_has_its_kind(cls: type, kind: type) -> None:
    assert issubclass(cls, kind)
    assert issubclass(cls, E.RenalpathError)


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (E.Refusal, 422),
        (E.InvalidInput, 422),
        (E.UnknownPack, 422),
        (E.NotFound, 404),
        (E.Conflict, 409),
        (E.SchemaMissing, 503),
    ],
)
def test_statuses_and_exit_codes(kind: type[E.RenalpathError], status: int) -> None:
    assert kind.http_status == status
    assert kind.exit_code == 1


def test_unknown_pack_is_refused_by_kind() -> None:
    from renalpath.pathway import recommend

    with pytest.raises(E.UnknownPack, match="unknown pack"):
        recommend({}, ["no-such-pack"])


# ------------------------------------------------------------------------------- CLI

EGFR = ["calc", "egfr", "--creatinine", "1.2", "--unit", "mg/dL", "--age", "60", "--sex", "male"]


def _egfr_raising(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    from renalpath.calculators import egfr as egfr_entry

    def boom(*args: object, **kwargs: object) -> None:
        raise exc

    monkeypatch.setattr(egfr_entry.egfr_mod, "egfr", boom)


@pytest.mark.parametrize(
    "exc",
    [
        E.NotFound("no such record"),
        E.Conflict("duplicate"),
        SchemaError("no schema: run db init"),
        E.Refusal("cannot do that"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_cli_maps_every_kind_to_a_refusal(
    monkeypatch: pytest.MonkeyPatch, exc: E.RenalpathError
) -> None:
    _egfr_raising(monkeypatch, exc)
    res = CliRunner().invoke(cli_app, EGFR)
    assert res.exit_code == 1
    assert res.stderr == f"refused: {exc}\n"
    assert res.stdout == ""


def test_cli_problems_one_line_each(monkeypatch: pytest.MonkeyPatch) -> None:
    problems = [Problem("age", 5, "18-120"), Problem("sex", "x", "male | female")]
    _egfr_raising(monkeypatch, ClinicalInputError(problems))
    res = CliRunner().invoke(cli_app, EGFR)
    assert res.exit_code == 1
    assert res.stderr.splitlines() == [f"refused: {p.message()}" for p in problems]


def test_cli_bug_is_a_traceback_not_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    _egfr_raising(monkeypatch, ValueError("a programming error"))
    res = CliRunner().invoke(cli_app, EGFR)
    assert isinstance(res.exception, ValueError)  # propagated: Python prints the traceback
    assert "refused" not in res.stderr


# ------------------------------------------------------------------------------- web


def _web_app() -> FastAPI:
    app = FastAPI()
    install_handlers(app)

    @app.get("/api/v1/fail/{kind}")
    def fail(kind: str) -> None:
        raise {
            "refusal": E.Refusal("cannot analyse"),
            "notfound": RecordNotFound("no record 7"),
            "conflict": RecordConflict("duplicate key"),
            "schema": SchemaError("no registry schema"),
            "pack": E.UnknownPack("unknown pack(s): x"),
            "clinical": ClinicalInputError(Problem("age", 5, "18-120")),
            "bug": ValueError("a programming error"),
        }[kind]

    return app


@pytest.mark.parametrize(
    ("kind", "status", "field"),
    [
        ("refusal", 422, None),
        ("notfound", 404, None),
        ("conflict", 409, None),
        ("schema", 503, None),
        ("pack", 422, None),
        ("clinical", 422, "age"),
    ],
)
def test_web_maps_kind_to_status(kind: str, status: int, field: str | None) -> None:
    res = TestClient(_web_app()).get(f"/api/v1/fail/{kind}")
    assert res.status_code == status
    errors = res.json()["errors"]
    assert len(errors) == 1
    assert errors[0]["field"] == field


def test_web_bug_is_a_500_with_a_logged_trace(caplog: pytest.LogCaptureFixture) -> None:
    client = TestClient(_web_app(), raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR):
        res = client.get("/api/v1/fail/bug")
    assert res.status_code == 500
    assert "a programming error" not in res.text  # the detail stays in the log
    logged = [r for r in caplog.records if r.exc_info]
    assert logged
    assert isinstance(logged[0].exc_info[1], ValueError)  # type: ignore[index]
