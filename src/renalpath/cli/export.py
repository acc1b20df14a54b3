"""`renalpath export DIR`: the registry as CSV files in the import format (or de-identified)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from renalpath.cli.options import DbOpt, JsonFlag, new_app, refuse

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from renalpath.registry.deidentify import DeidentifiedExport

app = new_app()


@app.command("export")
def export_cmd(
    folder: Annotated[Path, typer.Argument(help="Folder to write the files into.")],
    db: DbOpt = None,
    as_json: JsonFlag = False,
    deidentify: Annotated[
        bool,
        typer.Option(
            "--deidentify",
            help="Pseudonymise ids, shift each patient's dates 1-364 days back (intervals "
            "kept), blank free text; audited.",
        ),
    ] = False,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            help="Secret key (>= 16 bytes) for pseudonyms and date offsets, the same for every "
            "export; default: the file named by RENALPATH_DEID_KEY_FILE. Required: one-off "
            "keys would let recipients compare exports and narrow the date shifts.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Write into a folder that is not empty.")
    ] = False,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="csv (import format) | fhir (FHIR R4 / mCODE NDJSON per resource type, Bulk "
            "Data layout) | fhir-bundle (one mCODE patient Bundle per patient) | redcap (one "
            "REDCap records file for the Data Import Tool, with the REDCap data dictionary "
            "beside it; docs/redcap.md).",
        ),
    ] = "csv",
) -> None:
    """Write the registry as CSV files in the import format (lossless round trip), or FHIR."""
    from renalpath.cli.database import database_errors, engine_for, refuse_existing
    from renalpath.registry.exporter import export_folder

    if key_file is not None and not deidentify:
        raise typer.BadParameter("only with --deidentify", param_hint="--key-file")
    refuse_existing(folder, force)
    if fmt in ("fhir", "fhir-bundle"):
        from renalpath.cli.fhir_hook import export_fhir

        export_fhir(folder, db, as_json, fmt, deidentify, key_file)
        return
    if fmt not in ("csv", "redcap"):
        raise typer.BadParameter(
            f"{fmt!r}: use csv, fhir, fhir-bundle or redcap", param_hint="--format"
        )
    if deidentify:
        _export_deidentified(folder, db, as_json, key_file, redcap=fmt == "redcap")
        return
    if fmt == "redcap":
        _export_redcap(folder, db, as_json)
        return
    engine = engine_for(db)
    try:
        with database_errors(engine):
            counts = export_folder(engine, folder)
    except OSError as err:
        refuse(f"cannot write {folder}: {err.strerror or err}")
    if as_json:
        sys.stdout.write(json.dumps({"folder": str(folder), "rows": counts}) + "\n")
    else:
        for name, n in counts.items():
            typer.echo(f"{name}.csv: {n} rows")


def _export_redcap(folder: Path, db: str | None, as_json: bool) -> None:
    from renalpath.cli.database import database_errors, engine_for
    from renalpath.registry import redcap_records as redcap

    engine = engine_for(db)
    try:
        with database_errors(engine):
            counts = redcap.export_records(engine, folder)
    except OSError as err:
        refuse(f"cannot write {folder}: {err.strerror or err}")
    _report_redcap(folder, counts, as_json)


def _report_redcap(
    folder: Path, counts: dict[str, int], as_json: bool, deidentified: bool = False
) -> None:
    from renalpath.registry.redcap import DICTIONARY_FILE, RECORDS_FILE

    records, dictionary = folder / RECORDS_FILE, folder / DICTIONARY_FILE
    if as_json:
        out: dict[str, object] = {
            "folder": str(folder),
            "format": "redcap",
            "records_file": str(records),
            "dictionary_file": str(dictionary),
            "rows": counts,
        }
        if deidentified:
            out["deidentified"] = True
        sys.stdout.write(json.dumps(out) + "\n")
        return
    for name, n in counts.items():
        typer.echo(f"{name}: {n} rows" + (" (de-identified)" if deidentified else ""))
    typer.echo(f"REDCap records: {records}")
    typer.echo(f"REDCap data dictionary: {dictionary}")


def _export_deidentified(
    folder: Path, db: str | None, as_json: bool, key_file: Path | None, redcap: bool = False
) -> None:
    from renalpath.cli.database import database_errors, engine_for
    from renalpath.registry import deidentify as deid
    from renalpath.registry.audit import cli_actor

    key = deid.load_key(key_file) if key_file is not None else deid.configured_key()
    if key is None:
        raise deid.DeidentifyError(
            f"a persistent key is required: --key-file FILE or {deid.KEY_FILE_ENV}=FILE "
            "(create one with `openssl rand -hex 32 > FILE`; keep it for every export)"
        )
    engine = engine_for(db)
    try:
        with database_errors(engine):
            if redcap:
                done = _deidentified_redcap(engine, folder, key)
            else:
                done = deid.export_deidentified(engine, folder, key)
            deid.record_export(engine, cli_actor(), deidentified=True, rows=done.rows)
    except OSError as err:
        refuse(f"cannot write {folder}: {err.strerror or err}")
    for column, n in done.withheld.items():
        typer.echo(f"note: {column}: {n} value(s) not on the controlled list withheld", err=True)
    if redcap:
        _report_redcap(folder, dict(done.rows), as_json, deidentified=True)
        return
    if as_json:
        sys.stdout.write(json.dumps({"folder": str(folder), **done.to_dict()}) + "\n")
    else:
        for name, n in done.rows.items():
            typer.echo(f"{name}.csv: {n} rows (de-identified)")


def _deidentified_redcap(engine: Engine, folder: Path, key: bytes) -> DeidentifiedExport:
    """The de-identified folder, written as REDCap records; the folder itself lives only in
    a private temporary directory."""
    import tempfile

    from renalpath.registry import deidentify as deid
    from renalpath.registry import redcap_records as redcap

    with tempfile.TemporaryDirectory(prefix="renalpath-redcap-") as tmp:
        done = deid.export_deidentified(engine, Path(tmp), key)
        redcap.write_folder_records(redcap.read_registry_folder(Path(tmp)), folder)
    return done
