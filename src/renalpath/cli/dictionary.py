"""`renalpath dictionary`: the registry data dictionary as Markdown, CSV or a REDCap dictionary."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from renalpath.cli.options import new_app

app = new_app()


@app.command("dictionary")
def dictionary_cmd(
    fmt: Annotated[
        str, typer.Option("--format", help="md | csv | redcap (REDCap data-dictionary CSV).")
    ] = "md",
) -> None:
    """Print the registry data dictionary."""
    from renalpath.registry.docs import render

    if fmt not in ("md", "csv", "redcap"):
        raise typer.BadParameter(f"{fmt!r}: use md, csv or redcap", param_hint="--format")
    sys.stdout.write(render(fmt))
