"""`renalpath export --format fhir|fhir-bundle` and `renalpath import --format fhir`.

Kept out of `cli.registry` so the FHIR modules (and `fhir.resources`) load only when asked for.
"""

from __future__ import annotations

import gc
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from renalpath.registry import audit as audit_mod
from renalpath.registry.db import SchemaError, make_engine

if TYPE_CHECKING:  # the FHIR reader and the registry import load only when a command runs
    from sqlalchemy import Engine

    from renalpath.interop.fhir.importer import FhirReadResult, Note, PendingRead
    from renalpath.registry.importer import ImportResult


def _fail(message: str) -> None:
    typer.echo(f"refused: {message}", err=True)
    raise typer.Exit(1)


def export_fhir(
    folder: Path, db: str | None, as_json: bool, fmt: str, deidentify: bool, key_file: Path | None
) -> None:
    from renalpath.interop.fhir.export import export_fhir as run
    from renalpath.registry import deidentify as deid

    # SchemaError, DeidentifyError and a bad format are refusals: the CLI's error handler
    # reports them.
    engine = make_engine(db)
    key = None
    if deidentify:
        key = deid.load_key(key_file) if key_file is not None else deid.configured_key()
        if key is None:
            raise deid.DeidentifyError(
                f"a persistent key is required: --key-file FILE or {deid.KEY_FILE_ENV}=FILE "
                "(create one with `openssl rand -hex 32 > FILE`; keep it for every export)"
            )
    counts = run(engine, folder, fmt, deidentify_key=key)
    if deidentify:
        deid.record_export(engine, audit_mod.cli_actor(), deidentified=True, rows=counts)
    if as_json:
        out = {
            "folder": str(folder),
            "format": fmt,
            "deidentified": deidentify,
            "resources": counts,
        }
        sys.stdout.write(json.dumps(out) + "\n")
    else:
        for kind, n in counts.items():
            typer.echo(f"{kind}: {n} resources" + (" (de-identified)" if deidentify else ""))


# Notes of one kind printed one by one; the rest are counted by reason.
LISTED_ON_SCREEN = 200


def _list_notes(kind: str, notes: list[Note]) -> None:
    """Each note up to `LISTED_ON_SCREEN`, then every further one counted by its reason, so a
    million derived resources are accounted for in a few lines instead of a million."""
    from renalpath.interop.fhir.importer import by_reason

    for note in notes[:LISTED_ON_SCREEN]:
        typer.echo(f"{kind}: {note.render()}", err=True)
    rest = notes[LISTED_ON_SCREEN:]
    if rest:
        typer.echo(f"{kind}: {len(rest)} more, by reason:", err=True)
        for reason, n in by_reason(rest).items():
            typer.echo(f"  {n} × {reason}", err=True)


def import_fhir(
    path: Path, db: str | None, as_json: bool, reason: str | None, user: str | None, equation: str
) -> None:
    from renalpath.interop.fhir.importer import read_fhir_pending

    if not path.exists():
        _fail(f"{str(path)!r} does not exist")
    actor = f"user:{user}" if user else None
    pending = read_fhir_pending(path)
    # The read's objects (its notes, up to millions) live on to the end of the command and
    # are freed by reference counting alone: set aside from the collections of the registry
    # import, which would otherwise walk them all again each time (put back afterwards, for
    # a caller running this in a longer-lived process; a caller that had set its own heap
    # aside already keeps it so, since `gc.unfreeze` cannot tell its objects from ours).
    caller_froze = gc.get_freeze_count() > 0
    gc.freeze()
    try:
        _import_read(pending, db, as_json, actor, reason, equation)
    finally:
        if not caller_froze:
            gc.unfreeze()


def _import_read(
    pending: PendingRead,
    db: str | None,
    as_json: bool,
    actor: str | None,
    reason: str | None,
    equation: str,
) -> None:
    """`import_fhir` once the resources are read: the registry import and the report."""
    outcome: ImportResult | SchemaError | None = None
    if not pending.settled and not pending.result.errors:
        outcome = _import_while_validated(pending, db, actor, reason, equation)
    pending.confirm()  # the serial read's result from here on
    read = pending.result
    _list_notes("not imported", read.skipped)
    if read.errors:
        _list_notes("error", read.errors)
        if as_json:
            sys.stdout.write(json.dumps({"fhir": read.to_dict(), "written": False}) + "\n")
        _fail(f"{len(read.errors)} FHIR resource(s) cannot be read; nothing was imported")
    if outcome is None:
        outcome = _import_rows(read, make_engine(db), actor, reason, equation)
    if isinstance(outcome, SchemaError):
        _fail(str(outcome))
        return
    result = outcome
    if as_json:
        sys.stdout.write(json.dumps({"fhir": read.to_dict(), **result.to_dict()}) + "\n")
    if not result.written:
        typer.echo(result.report.render(), err=True)
        _fail("nothing was imported")
    if not as_json:
        typer.echo(
            f"FHIR resources: {read.resources} read, {read.mapped} mapped, "
            f"{len(read.skipped)} not imported (see above)"
        )
        for name, c in result.counts.items():
            typer.echo(
                f"{name}: {c['inserted']} inserted, {c['updated']} updated, "
                f"{c['unchanged']} unchanged"
            )


def _import_rows(
    read: FhirReadResult,
    engine: Engine,
    actor: str | None,
    reason: str | None,
    equation: str,
    confirm: Callable[[], bool] | None = None,
) -> ImportResult | SchemaError:
    """The read's rows written as a registry folder and imported by the registry's own import
    (so a FHIR import follows the same rules, report and audit as a CSV one)."""
    from renalpath.interop.fhir.importer import write_folder
    from renalpath.registry.importer import import_folder

    with tempfile.TemporaryDirectory(prefix="renalpath-fhir-import-") as tmp:
        write_folder(read, Path(tmp))
        read.release_rows()
        try:
            return import_folder(
                engine, Path(tmp), actor=actor, reason=reason, equation=equation, confirm=confirm
            )
        except SchemaError as err:
            return err


def _import_while_validated(
    pending: PendingRead, db: str | None, actor: str | None, reason: str | None, equation: str
) -> ImportResult | SchemaError | None:
    """The registry import of an optimistic read's rows, run while the worker process still
    validates the resources (`read_fhir_pending`); committed only if the worker refuses
    nothing (`import_folder`'s `confirm`).

    Returns the import's result (or the SchemaError it raised), or None when the read was
    refused after all (`pending.result` is then the serial read, with its errors), when
    the database could not be touched before the verdict, or when the import failed; the
    caller then goes on exactly as it would have without this step. A refused read must
    leave the database as it was: the import's transaction is rolled back, and the only
    change made outside it, the schema that `ensure_schema` creates in a brand-new database,
    is made early only in a SQLite file that did not exist (removed again on a refusal); any
    other database without the schema in place waits for the verdict (returns None once it
    is known)."""
    from renalpath.registry.db import current_revision, head_revision

    new_file = _new_sqlite_file(db)
    engine = make_engine(db)
    result: ImportResult | SchemaError | None
    try:
        if new_file is None and current_revision(engine) != head_revision(engine):
            pending.confirm()
            return None
        result = _import_rows(pending.result, engine, actor, reason, equation, pending.confirm)
    except Exception:
        # (Busy, unreachable, a failure of the import itself.) Nothing was committed; the
        # caller's import runs again after the notes are printed and meets it in its turn,
        # so the output is what it would have been.
        result = None
    finally:
        engine.dispose()
    if pending.confirm():
        return result
    if new_file is not None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{new_file}{suffix}").unlink(missing_ok=True)
    return None


def _new_sqlite_file(db: str | None) -> Path | None:
    """The file of a SQLite URL when neither it nor its journal exists yet, else None."""
    from sqlalchemy.engine import make_url

    from renalpath.registry.db import resolve_url

    url = make_url(resolve_url(db))
    name = url.database
    if url.get_backend_name() != "sqlite" or not name or name == ":memory:" or url.query:
        return None
    if name.startswith("file:"):
        return None
    file = Path(name)
    if any(Path(f"{file}{s}").exists() for s in ("", "-journal", "-wal", "-shm")):
        return None
    return file
