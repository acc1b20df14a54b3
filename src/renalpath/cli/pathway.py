"""`renalpath recommend CASE.json` and `renalpath schema case`.

Exit codes: 0 ok; 1 the case was refused (every problem on stderr, by field path); 2 usage
error (Typer/Click's own: missing file, unknown pack).
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from renalpath.cli import app
from renalpath.pathway import CaseValidationError, case_json_schema, recommend
from renalpath.pathway.text import explanation, summary


class PackName(StrEnum):
    eau = "eau"
    oncolex = "oncolex"
    salvage = "salvage"


schema_app = typer.Typer(
    help="Print input schemas (JSON Schema draft 2020-12).", no_args_is_help=True
)
app.add_typer(schema_app, name="schema")


@app.command("recommend")
def recommend_cmd(
    case_file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="Case JSON (see `renalpath schema case`).",
        ),
    ],
    pack: Annotated[
        list[PackName] | None,
        typer.Option("--pack", help="Rule pack(s) to use (repeatable); default: all merged."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Machine-readable JSON on stdout.")
    ] = False,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Also show each rule's verdict per option and, for an option that cannot be "
            "decided yet, which missing input would change it to what.",
        ),
    ] = False,
) -> None:
    """Treatment options for one case, each with status, strength, reason and sources."""
    try:
        data = json.loads(case_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        typer.echo(f"refused: {case_file}: not valid JSON ({err})", err=True)
        raise typer.Exit(1) from None
    try:
        result = recommend(data, [p.value for p in pack] if pack else None)
    except CaseValidationError as err:
        for problem in err.problems:
            typer.echo(f"refused: {problem.message()}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), default=str) + "\n")
    else:
        typer.echo(summary(result))
        if explain:
            typer.echo("\n" + explanation(result))


@schema_app.command("case")
def schema_case() -> None:
    """JSON Schema of the case accepted by `renalpath recommend`."""
    sys.stdout.write(json.dumps(case_json_schema(), indent=2) + "\n")
