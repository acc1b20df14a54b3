"""`renalpath calc NAME`: every clinical calculator, with `--json` and `--explain`.

The commands are defined in `calc_kidney` (kidney function, nephrometry, staging, growth) and
`calc_prognosis` (prognostic scores, calcium, Clavien-Dindo, Mirels); this module holds the
group and the flow they share. Only the clinical layer is imported (no pandas, SciPy or
SQLAlchemy), so a calculation starts fast. Exit codes: 0 ok, 1 clinical/validation refusal
(reason on stderr), 2 usage error (Typer/Click's own).
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer
from typer import _click as click
from typer.core import TyperGroup

from renalpath.cli.options import ExplainOpt, JsonOpt, refuse

if TYPE_CHECKING:
    from renalpath.clinical.common import CalculatorSpec

__all__ = ["ExplainOpt", "JsonOpt", "app", "calc_app", "refuse", "run_calculator"]

# Which module defines each calculator command. Importing only the module of the command that
# runs keeps `renalpath calc egfr` from loading the prognostic scores' modules (a test checks
# that the table and the modules' own commands agree).
OWNERS: dict[str, str] = {
    **dict.fromkeys(("egfr", "renal", "padua", "tnm", "growth"), "calc_kidney"),
    **dict.fromkeys(
        ("leibovich", "ssign", "imdc", "mskcc", "calcium", "clavien", "mirels"), "calc_prognosis"
    ),
}


class CalcGroup(TyperGroup):
    """The `calc` group: builds a calculator's command from its own module on first use."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in OWNERS:
            importlib.import_module(f"renalpath.cli.{OWNERS[cmd_name]}")
            for info in calc_app.registered_commands:
                if info.name == cmd_name:
                    self.commands[cmd_name] = typer.main.get_command_from_info(
                        info,
                        pretty_exceptions_short=calc_app.pretty_exceptions_short,
                        rich_markup_mode=calc_app.rich_markup_mode,
                    )
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        for name in OWNERS:  # the group's own help lists (and so loads) every calculator
            self.get_command(ctx, name)
        return list(self.commands)


calc_app = typer.Typer(
    help="Clinical calculators (eGFR, nephrometry, TNM, prognosis, Clavien-Dindo, Mirels).",
    no_args_is_help=True,
    add_completion=False,
    cls=CalcGroup,
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
