"""`renalpath calc NAME`: every clinical calculator, with `--json` and `--explain`.

Exit codes follow design §5: 0 ok, 1 clinical/validation refusal (reason on stderr),
2 usage error (Typer/Click's own).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import typer

from renalpath.cli import app
from renalpath.clinical.common import CalculatorSpec, ClinicalInputError

calc_app = typer.Typer(
    help="Clinical calculators (eGFR, nephrometry, TNM, prognosis, Clavien-Dindo, Mirels).",
    no_args_is_help=True,
)
app.add_typer(calc_app, name="calc")

JsonOpt = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")
ExplainOpt = typer.Option(
    False,
    "--explain",
    help="Show formula, units, valid ranges, bands and sources; no inputs needed.",
)


def refuse(message: str) -> None:
    """Print a refusal on stderr and exit 1 (design §5)."""
    typer.echo(f"refused: {message}", err=True)
    raise typer.Exit(1)


def run_calculator(
    spec: CalculatorSpec,
    explain: bool,
    as_json: bool,
    compute: Callable[[], dict[str, Any]],
    render: Callable[[dict[str, Any]], str],
) -> None:
    """Shared flow of every `calc` command: explain, or compute and print, or refuse."""
    if explain:
        typer.echo(spec.explain())
        return
    try:
        payload = compute()
    except ClinicalInputError as err:
        for problem in err.problems:
            typer.echo(f"refused: {problem.message()}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        sys.stdout.write(json.dumps(payload, default=str) + "\n")
    else:
        typer.echo(render(payload))
