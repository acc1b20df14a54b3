"""`renalpath import DIR`: validate a registry folder of CSV files and load it, all or nothing.

Takes `--db URL` (else RENALPATH_DATABASE_URL, else sqlite:///./renalpath.db). A folder with
errors is refused whole (every problem on stderr, exit 1); re-importing the same folder changes
nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from renalpath.cli.options import DbOpt, JsonFlag, new_app
from renalpath.registry.spellings import DATE_FORMATS, MISSING_VALUES

if TYPE_CHECKING:
    from renalpath.registry.importer import ImportResult

app = new_app()

_PROGRESS_MIN_ROWS = 10_000
# The equation the registry stores eGFR with unless told otherwise; equal to
# renalpath.registry.derived.DEFAULT_EQUATION (a test keeps them in step) but written here so
# that building the command does not import the registry layer.
DEFAULT_EQUATION = "ckd-epi-2021"


_DIFF_SHOWN = 50


@app.command("import")
def import_cmd(
    folder: Annotated[
        Path,
        typer.Argument(
            help="Registry folder (CSV or .xlsx files; see docs/import.md), FHIR files with "
            "--format fhir, or a REDCap records export (CSV) with --format redcap."
        ),
    ],
    db: DbOpt = None,
    as_json: JsonFlag = False,
    reason: Annotated[str | None, typer.Option(help="Reason recorded in the audit trail.")] = None,
    user: Annotated[
        str | None, typer.Option(help="Who is importing (default cli:<os user>).")
    ] = None,
    equation: Annotated[
        str, typer.Option(help="eGFR equation stored for creatinine values.")
    ] = DEFAULT_EQUATION,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="csv (a registry folder) | fhir (FHIR R4 NDJSON files or Bundle JSON files, "
            "a folder or one file; resources outside the registry are reported) | redcap (a "
            "REDCap records export of a project built with `renalpath dictionary --format "
            "redcap`, raw codes or labels; docs/redcap.md).",
        ),
    ] = "csv",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Full report and diff; nothing is written.")
    ] = False,
    update: Annotated[
        bool,
        typer.Option(
            "--update", help="Apply changes to rows already in the database (needs --reason)."
        ),
    ] = False,
    encoding: Annotated[
        str | None, typer.Option(help="Encoding of the CSV files (default UTF-8), e.g. cp1252.")
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option(help=f"Day-month order of dates: {' | '.join(DATE_FORMATS)}."),
    ] = None,
    ignore_columns: Annotated[
        list[str] | None,
        typer.Option("--ignore-columns", help="Column not to read (repeat, or comma-separated)."),
    ] = None,
    missing: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated cells read as blank in optional columns "
            f"(default: {', '.join(MISSING_VALUES)})."
        ),
    ] = None,
) -> None:
    """Validate a registry folder and load it (all or nothing; re-import changes nothing)."""
    if fmt == "fhir":
        from renalpath.cli.fhir_hook import import_fhir

        import_fhir(folder, db, as_json, reason, user, equation)
        return
    if fmt not in ("csv", "redcap"):
        raise typer.BadParameter(f"{fmt!r}: use csv, fhir or redcap", param_hint="--format")
    if date_format is not None and date_format not in DATE_FORMATS:
        raise typer.BadParameter(
            f"use one of {', '.join(DATE_FORMATS)}", param_hint="--date-format"
        )
    if update and not reason:
        raise typer.BadParameter(
            "say why stored rows change (goes to the audit trail)", param_hint="--reason"
        )
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from renalpath.cli.database import database_errors, engine_for
    from renalpath.registry.importer import import_folder
    from renalpath.registry.normalise import ReadOptions
    from renalpath.registry.redcap_records import import_records

    options = ReadOptions(
        date_format=date_format,
        encoding=encoding,
        ignore_columns=tuple(c.strip() for arg in ignore_columns or [] for c in arg.split(",")),
        missing=MISSING_VALUES if missing is None else tuple(missing.split(",")),
    )
    engine = engine_for(db, create=True)
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("importing"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} rows"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    task = progress.add_task("import", total=0)
    show = sys.stderr.isatty()

    def on_start(total: int) -> None:
        if show and total >= _PROGRESS_MIN_ROWS:
            progress.update(task, total=total)
            progress.start()

    try:
        # A database without the schema (SchemaError) is refused by the CLI's error handler.
        with database_errors(engine):
            run = import_records if fmt == "redcap" else import_folder
            result = run(
                engine,
                folder,
                actor=f"user:{user}" if user else None,
                reason=reason,
                equation=equation,
                on_start=on_start,
                progress=lambda n: progress.advance(task, n),
                options=options,
                dry_run=dry_run,
                update=update,
            )
    finally:
        progress.stop()
    _report_import(result, as_json)


def _report_import(result: ImportResult, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict()) + "\n")
    if not result.report.ok:
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
        for change in result.diff(_DIFF_SHOWN):
            typer.echo(
                f"  change {change['file']} {change['id']} {change['column']}: "
                f"{change['old']!r} → {change['new']!r}"
            )
        if len(result.changes) > _DIFF_SHOWN:
            typer.echo(f"  … {len(result.changes) - _DIFF_SHOWN} more changes (--json lists all)")
        if result.written:
            typer.echo(f"audit rows written: {result.audit_rows}")
    if result.updates_refused and not result.dry_run:
        typer.echo(
            f"refused: the folder changes {len(result.changes)} cell(s) of rows already "
            "in the database (listed above); nothing was imported. Check them, then run "
            'again with --update --reason "…"',
            err=True,
        )
        raise typer.Exit(1)
    if result.dry_run:
        typer.echo("dry run: nothing was written", err=True)
