"""`renalpath import DIR`: validate a registry folder of CSV files and load it, all or nothing.

Takes `--db URL` (else RENALPATH_DATABASE_URL, else sqlite:///./renalpath.db). A folder with
errors is refused whole (every problem on stderr, exit 1); re-importing the same folder changes
nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from renalpath.cli.options import DbOpt, JsonFlag

app = typer.Typer(add_completion=False)

_PROGRESS_MIN_ROWS = 10_000
# The equation the registry stores eGFR with unless told otherwise; equal to
# renalpath.registry.derived.DEFAULT_EQUATION (a test keeps them in step) but written here so
# that building the command does not import the registry layer.
DEFAULT_EQUATION = "ckd-epi-2021"


@app.command("import")
def import_cmd(
    folder: Annotated[
        Path,
        typer.Argument(
            help="Registry folder of CSV files (see `renalpath dictionary`), or FHIR files "
            "with --format fhir."
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
            "a folder or one file; resources outside the registry are reported).",
        ),
    ] = "csv",
) -> None:
    """Validate a registry folder and load it (all or nothing; re-import changes nothing)."""
    if fmt == "fhir":
        from renalpath.cli.fhir_hook import import_fhir

        import_fhir(folder, db, as_json, reason, user, equation)
        return
    if fmt != "csv":
        raise typer.BadParameter(f"{fmt!r}: use csv or fhir", param_hint="--format")
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from renalpath.registry.db import make_engine
    from renalpath.registry.importer import import_folder

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
        # A database without the schema (SchemaError) is refused by the CLI's error handler.
        result = import_folder(
            engine,
            folder,
            actor=f"user:{user}" if user else None,
            reason=reason,
            equation=equation,
            on_start=on_start,
            progress=lambda n: progress.advance(task, n),
        )
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
