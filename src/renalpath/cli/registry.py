"""Registry commands: `db init|upgrade`, `import DIR`, `export DIR`, `dictionary`, `audit`.

Every command takes `--db URL` (else RENALPATH_DATABASE_URL, else sqlite:///./renalpath.db).
Exit codes: 0 ok, 1 validation refusal / failed verification (reason on stderr),
2 usage error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from renalpath.cli import app
from renalpath.registry import audit as audit_mod
from renalpath.registry.db import SchemaError, make_engine, resolve_url, upgrade
from renalpath.registry.derived import DEFAULT_EQUATION
from renalpath.registry.docs import render
from renalpath.registry.exporter import export_folder
from renalpath.registry.importer import import_folder

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="RENALPATH_DATABASE_URL",
        help="Database URL (sqlite:///FILE or postgresql+psycopg://…); "
        "default sqlite:///./renalpath.db.",
    ),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]

db_app = typer.Typer(help="Create or migrate the registry database.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")

_PROGRESS_MIN_ROWS = 10_000


def _fail(message: str) -> None:
    typer.echo(f"refused: {message}", err=True)
    raise typer.Exit(1)


@db_app.command("init")
def db_init(db: DbOpt = None) -> None:
    """Create the registry schema (same as upgrade on an empty database)."""
    _migrate(db)


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None) -> None:
    """Migrate the registry schema to the latest revision."""
    _migrate(db)


def _migrate(db: str | None) -> None:
    url = resolve_url(db)
    rev = upgrade(make_engine(url))
    typer.echo(f"database {make_engine(url).url.render_as_string()} at revision {rev}")


@app.command("import")
def import_cmd(
    folder: Annotated[Path, typer.Argument(help="Registry folder (CSV or .xlsx files; see docs/import.md).")],
    db: DbOpt = None,
    as_json: JsonFlag = False,
    reason: Annotated[str | None, typer.Option(help="Reason recorded in the audit trail.")] = None,
    user: Annotated[
        str | None, typer.Option(help="Who is importing (default cli:<os user>).")
    ] = None,
    equation: Annotated[
        str, typer.Option(help="eGFR equation stored for creatinine values.")
    ] = DEFAULT_EQUATION,
) -> None:
    """Validate a registry folder and load it (all or nothing; re-import changes nothing)."""
    engine = make_engine(db)
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("importing"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} rows"),
        TimeRemainingColumn(), console=console, transient=True,
    )  # fmt: skip
    task = progress.add_task("import", total=0)
    show = sys.stderr.isatty()

    def on_start(total: int) -> None:
        if show and total >= _PROGRESS_MIN_ROWS:
            progress.update(task, total=total)
            progress.start()

    try:
        result = import_folder(
            engine,
            folder,
            actor=f"user:{user}" if user else None,
            reason=reason,
            equation=equation,
            on_start=on_start,
            progress=lambda n: progress.advance(task, n),
        )
    except SchemaError as err:
        _fail(str(err))
        return
    finally:
        progress.stop()
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict()) + "\n")
    if not result.written:
        typer.echo(result.report.render(), err=True)
        typer.echo("refused: nothing was imported", err=True)
        raise typer.Exit(1)
    if not as_json:
        if result.report.warnings:
            typer.echo(result.report.render(), err=True)
        for name, c in result.counts.items():
            typer.echo(
                f"{name}: {c['inserted']} inserted, {c['updated']} updated, "
                f"{c['unchanged']} unchanged"
            )
        typer.echo(f"audit rows written: {result.audit_rows}")


@app.command("export")
def export_cmd(
    folder: Annotated[Path, typer.Argument(help="Folder to write the CSV files into.")],
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
            help="Secret key (>= 16 bytes) for stable pseudonyms and offsets across exports; "
            "default: a one-off random key (exports cannot be linked).",
        ),
    ] = None,
) -> None:
    """Write the registry as CSV files in the import format (lossless round trip)."""
    if key_file is not None and not deidentify:
        raise typer.BadParameter("only with --deidentify", param_hint="--key-file")
    if deidentify:
        _export_deidentified(folder, db, as_json, key_file)
        return
    try:
        counts = export_folder(make_engine(db), folder)
    except SchemaError as err:
        _fail(str(err))
        return
    if as_json:
        sys.stdout.write(json.dumps({"folder": str(folder), "rows": counts}) + "\n")
    else:
        for name, n in counts.items():
            typer.echo(f"{name}.csv: {n} rows")


def _export_deidentified(
    folder: Path, db: str | None, as_json: bool, key_file: Path | None
) -> None:
    from renalpath.registry import deidentify as deid

    try:
        key = deid.load_key(key_file) if key_file is not None else deid.new_key()
        engine = make_engine(db)
        done = deid.export_deidentified(engine, folder, key)
        deid.record_export(engine, audit_mod.cli_actor(), deidentified=True, rows=done.rows)
    except (SchemaError, deid.DeidentifyError) as err:
        _fail(str(err))
        return
    if key_file is None:
        typer.echo("note: one-off random key; pseudonyms cannot be linked to other exports "
                   "(use --key-file to keep them stable)", err=True)  # fmt: skip
    if as_json:
        sys.stdout.write(json.dumps({"folder": str(folder), **done.to_dict()}) + "\n")
    else:
        for name, n in done.rows.items():
            typer.echo(f"{name}.csv: {n} rows (de-identified)")


@app.command("dictionary")
def dictionary_cmd(
    fmt: Annotated[
        str, typer.Option("--format", help="md | csv | redcap (REDCap data-dictionary CSV).")
    ] = "md",
) -> None:
    """Print the registry data dictionary."""
    if fmt not in ("md", "csv", "redcap"):
        raise typer.BadParameter(f"{fmt!r}: use md, csv or redcap", param_hint="--format")
    sys.stdout.write(render(fmt))


@audit_app.command("log")
def audit_log(
    db: DbOpt = None,
    entity: Annotated[str | None, typer.Option(help="Only this entity (file name).")] = None,
    entity_id: Annotated[str | None, typer.Option("--id", help="Only this record id.")] = None,
    limit: Annotated[int, typer.Option(help="Most recent N rows (0 = all).")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Show the audit trail, most recent first."""
    rows = list(audit_mod.log_rows(make_engine(db), entity, entity_id, limit or None))
    if as_json:
        sys.stdout.write(json.dumps(rows, default=str) + "\n")
        return
    for r in rows:
        change = (
            f"{r['field']}: {r['old']!r} → {r['new']!r}" if r["field"] else (r["new"] or r["old"])
        )
        typer.echo(
            f"#{r['seq']} {r['at']} {r['actor']} {r['action']} {r['entity']}/{r['entity_id']} "
            f"{change} ({r['reason']})"
        )


@audit_app.command("verify")
def audit_verify(db: DbOpt = None, as_json: JsonFlag = False) -> None:
    """Recompute the hash chain; exit 1 if any row was altered, removed or inserted."""
    result = audit_mod.verify(make_engine(db))
    if as_json:
        sys.stdout.write(json.dumps(result.__dict__) + "\n")
    if not result.ok:
        typer.echo(f"refused: audit chain broken at row {result.first_bad_seq}: {result.reason}",
                   err=True)  # fmt: skip
        raise typer.Exit(1)
    if not as_json:
        typer.echo(f"audit chain intact: {result.rows} rows")
