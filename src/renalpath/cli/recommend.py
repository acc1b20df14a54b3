"""`renalpath recommend CASE.json`: the pathway engine on one case.

Exit codes: 0 ok; 1 the case was refused (every problem on stderr, by field path); 2 usage
error (Typer/Click's own: missing file, unknown pack).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from renalpath.cli.options import new_app, refuse

app = new_app()


@app.command("recommend")
def recommend_cmd(
    case_file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="Case JSON (its JSON Schema: `renalpath schema case`).",
        ),
    ],
    pack: Annotated[
        list[str] | None,
        typer.Option(
            "--pack",
            help="Rule pack id(s) from the pack set, e.g. eau, oncolex, salvage (repeatable); "
            "default: all merged. An id not in the set is a usage error.",
        ),
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
    from renalpath.pathway import UnknownPackError, recommend
    from renalpath.pathway.text import summary

    try:
        data = json.loads(case_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        refuse(f"{case_file}: not valid JSON ({err})")
    # A refused case (CaseValidationError) is reported by the CLI's error handler.
    try:
        result = recommend(data, pack or None)
    except UnknownPackError as err:  # the pack set is data; a wrong id is a usage error
        raise typer.BadParameter(str(err), param_hint="--pack") from None
    if as_json:
        sys.stdout.write(json.dumps(result.to_dict(), default=str) + "\n")
    else:
        typer.echo(summary(result))
        if explain:
            from renalpath.pathway.text import explanation

            typer.echo("\n" + explanation(result))
