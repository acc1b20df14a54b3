"""The `renalpath` command line: thin wrappers that parse arguments, call the layers, print.

Each command group lives in its own module and registers itself on `app`; this module only
assembles them, so command groups can grow without touching each other.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="renalpath",
    help=(
        "renalpath — kidney cancer (RCC) decision support, calculators, registry and outcomes.\n\n"
        "Supports clinicians' decisions; not a certified medical device."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command groups register themselves on `app` when imported.
from renalpath.cli import (  # noqa: E402
    calc,
    calc_kidney,
    calc_prognosis,
    pathway,
    registry,
    study,
    synth,
    web,
)

COMMAND_GROUPS = (calc, calc_kidney, calc_prognosis, pathway, registry, study, synth, web)


def main() -> None:
    """Console-script entry point."""
    app()
