"""Registry commands: `db init|upgrade`, `import DIR`, `export DIR`, `dictionary`, `audit`.

Every command takes `--db URL` (else RENALPATH_DATABASE_URL, else sqlite:///./renalpath.db).
Exit codes: 0 ok, 1 validation refusal / failed verification (reason on stderr),
2 usage error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from renalpath.cli import app
from renalpath.registry import audit as audit_mod
from renalpath.registry.db import SchemaError, make_engine, resolve_url, upgrade
from renalpath.registry.derived import DEFAULT_EQUATION
from renalpath.registry.docs import render
from renalpath.registry.exporter import export_folder
from renalpath.registry.importer import ImportResult, import_folder
from renalpath.registry.normalise import ReadOptions
from renalpath.registry.spellings import DATE_FORMATS, MISSING_VALUES

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


def _engine(db: str | None, *, create: bool = False) -> Engine:
    """The engine for `--db`, refusing a malformed URL, and — for commands that only read —
    a SQLite file that does not exist (a mistyped path must not create an empty database)."""
    url = resolve_url(db)
    try:
        parsed = make_url(url)
    except ArgumentError:
        _fail(f"{url!r} is not a database URL (sqlite:///FILE or postgresql+psycopg://…)")
        raise
    if parsed.get_backend_name() == "sqlite" and not create:
        path = parsed.database or ""
        if path not in ("", ":memory:") and not Path(path).exists():
            _fail(f"no database at {path} (check --db; `renalpath db init` creates one)")
    try:
        return make_engine(url)
    except (ArgumentError, NoSuchModuleError) as err:
        _fail(f"cannot use database URL {parsed.render_as_string()}: {err}")
        raise


@contextmanager
def _database_errors(engine: Engine) -> Iterator[None]:
    """Unreachable server, wrong credentials, read-only file: one line, no traceback."""
    try:
        yield
    except SchemaError as err:
        _fail(str(err))
    except DBAPIError as err:
        detail = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
        _fail(f"database {engine.url.render_as_string()}: {detail}")


def _refuse_existing(folder: Path, force: bool) -> None:
    if force or not folder.exists():
        return
    if folder.is_file() or any(folder.iterdir()):
        _fail(f"{folder} already exists and is not empty (choose a new folder, or --force to "
              "overwrite the registry files in it)")  # fmt: skip


@db_app.command("init")
def db_init(db: DbOpt = None) -> None:
    """Create the registry schema (same as upgrade on an empty database)."""
    _migrate(db)


@db_app.command("upgrade")
def db_upgrade(db: DbOpt = None) -> None:
    """Migrate the registry schema to the latest revision."""
    _migrate(db)


def _migrate(db: str | None) -> None:
    engine = _engine(db, create=True)
    with _database_errors(engine):
        rev = upgrade(engine)
    typer.echo(f"database {engine.url.render_as_string()} at revision {rev}")


@app.command("import")
def import_cmd(
    folder: Annotated[
        Path, typer.Argument(help="Registry folder (CSV or .xlsx files; see docs/import.md).")
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
    if date_format is not None and date_format not in DATE_FORMATS:
        raise typer.BadParameter(
            f"use one of {', '.join(DATE_FORMATS)}", param_hint="--date-format"
        )
    if update and not reason:
        raise typer.BadParameter("say why stored rows change (goes to the audit trail)",
                                 param_hint="--reason")  # fmt: skip
    options = ReadOptions(
        date_format=date_format,
        encoding=encoding,
        ignore_columns=tuple(c.strip() for arg in ignore_columns or [] for c in arg.split(",")),
        missing=MISSING_VALUES if missing is None else tuple(missing.split(",")),
    )
    engine = _engine(db, create=True)
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
        with _database_errors(engine):
            result = import_folder(
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


_DIFF_SHOWN = 50


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
            typer.echo(f"  change {change['file']} {change['id']} {change['column']}: "
                       f"{change['old']!r} → {change['new']!r}")  # fmt: skip
        if len(result.changes) > _DIFF_SHOWN:
            typer.echo(f"  … {len(result.changes) - _DIFF_SHOWN} more changes (--json lists all)")
        if result.written:
            typer.echo(f"audit rows written: {result.audit_rows}")
    if result.updates_refused and not result.dry_run:
        typer.echo(f"refused: the folder changes {len(result.changes)} cell(s) of rows already "
                   "in the database (listed above); nothing was imported. Check them, then run "
                   "again with --update --reason \"…\"", err=True)  # fmt: skip
        raise typer.Exit(1)
    if result.dry_run:
        typer.echo("dry run: nothing was written", err=True)


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
    force: Annotated[
        bool, typer.Option("--force", help="Write into a folder that is not empty.")
    ] = False,
) -> None:
    """Write the registry as CSV files in the import format (lossless round trip)."""
    if key_file is not None and not deidentify:
        raise typer.BadParameter("only with --deidentify", param_hint="--key-file")
    _refuse_existing(folder, force)
    if deidentify:
        _export_deidentified(folder, db, as_json, key_file)
        return
    engine = _engine(db)
    try:
        with _database_errors(engine):
            counts = export_folder(engine, folder)
    except OSError as err:
        _fail(f"cannot write {folder}: {err.strerror or err}")
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

    engine = _engine(db)
    try:
        key = deid.load_key(key_file) if key_file is not None else deid.new_key()
        with _database_errors(engine):
            done = deid.export_deidentified(engine, folder, key)
            deid.record_export(engine, audit_mod.cli_actor(), deidentified=True, rows=done.rows)
    except deid.DeidentifyError as err:
        _fail(str(err))
        return
    except OSError as err:
        _fail(f"cannot write {folder}: {err.strerror or err}")
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
    engine = _engine(db)
    with _database_errors(engine):
        rows = list(audit_mod.log_rows(engine, entity, entity_id, limit or None))
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
    engine = _engine(db)
    with _database_errors(engine):
        result = audit_mod.verify(engine)
    if as_json:
        sys.stdout.write(json.dumps(result.__dict__) + "\n")
    if not result.ok:
        typer.echo(f"refused: audit chain broken at row {result.first_bad_seq}: {result.reason}",
                   err=True)  # fmt: skip
        raise typer.Exit(1)
    if not as_json:
        typer.echo(f"audit chain intact: {result.rows} rows")
