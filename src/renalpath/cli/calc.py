"""`renalpath calc NAME`: every clinical calculator, with `--json` and `--explain`.

The commands are defined in `calc_kidney` (kidney function, nephrometry, staging, growth) and
`calc_prognosis` (prognostic scores, calcium, Clavien-Dindo, Mirels); this module holds the
group and the flow they share. Only the clinical layer is imported (no pandas, SciPy or
SQLAlchemy), so a calculation starts fast. Exit codes: 0 ok, 1 clinical/validation refusal
(reason on stderr), 2 usage error (Typer/Click's own).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import typer

from renalpath.cli.options import ExplainOpt, JsonOpt, refuse, sub_app
from renalpath.clinical.common import CalculatorSpec

__all__ = ["ExplainOpt", "JsonOpt", "app", "calc_app", "refuse", "run_calculator"]

calc_app = sub_app(
    "Clinical calculators (eGFR, nephrometry, TNM, prognosis, Clavien-Dindo, Mirels)."
)
app = calc_app


def run_calculator(
    spec: CalculatorSpec,
    explain: bool,
    as_json: bool,
    compute: Callable[[], dict[str, Any]],
    render: Callable[[dict[str, Any]], str],
) -> None:
    """Shared flow of every `calc` command: explain, or compute and print.

    A refused input (ClinicalInputError) is reported by the CLI's error handler, one line per
    field.
    """
    if explain:
        typer.echo(spec.explain())
        return
    payload = compute()
    if as_json:
        sys.stdout.write(json.dumps(payload, default=str) + "\n")
    else:
        typer.echo(render(payload))


# The commands register themselves on calc_app when imported.
from renalpath.cli import calc_kidney, calc_prognosis  # noqa: E402

COMMAND_MODULES = (calc_kidney, calc_prognosis)
