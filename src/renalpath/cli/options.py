"""Options and helpers shared by several commands, defined once.

Exit codes of every command: 0 ok; 1 refusal (the reason on stderr, one `refused: …` line per
problem); 2 usage error (Click's own: unknown option, missing argument, bad choice).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from renalpath.errors import Refusal

T = TypeVar("T")

JsonOpt = typer.Option(False, "--json", help="Machine-readable JSON on stdout.")
ExplainOpt = typer.Option(
    False,
    "--explain",
    help="Show formula, units, valid ranges, bands and sources; no inputs needed.",
)
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="RENALPATH_DATABASE_URL",
        help="Database URL (sqlite:///FILE or postgresql+psycopg://…); "
        "default sqlite:///./renalpath.db.",
    ),
]


def refuse(message: str) -> NoReturn:
    """Print a refusal on stderr and exit 1."""
    typer.echo(f"refused: {message}", err=True)
    raise typer.Exit(1)


def new_app(**settings: Any) -> typer.Typer:
    """Every Typer app of the command line, made one way: Click's plain help and usage errors.

    Typer's rich help would load rich's Markdown, traceback, table and panel modules on every
    `--help` and usage error (≈ 0.15 s, about half of `renalpath --help`'s start-up, measured
    in bench/RESULTS.md) to draw boxes around the same text; the plain form starts in half
    the time. Shell completion is off as it always was.
    """
    return typer.Typer(add_completion=False, rich_markup_mode=None, **settings)


def sub_app(help: str, no_args_is_help: bool = True) -> typer.Typer:
    """A command group (or single command) as the lazy top-level group loads it."""
    return new_app(help=help, no_args_is_help=no_args_is_help)


# ----------------------------------------------------------- studies and audits on the registry


def _date(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError as err:
        raise typer.BadParameter(f"{value!r} is not a date (allowed: YYYY-MM-DD)") from err


FromOpt = Annotated[
    str | None,
    typer.Option("--from", callback=_date, help="First operation date included (YYYY-MM-DD)."),
]
ToOpt = Annotated[
    str | None,
    typer.Option("--to", callback=_date, help="Last operation date included (YYYY-MM-DD)."),
]


def check_window(window_from: str | None, window_to: str | None) -> None:
    """--from after --to is a usage error (exit 2), caught before any data is read."""
    if window_from and window_to and window_from > window_to:
        raise typer.BadParameter(f"--from {window_from} is after --to {window_to}")


def print_json(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc, allow_nan=False) + "\n")


def fmt(value: Any, digits: int = 1, unit: str = "") -> str:
    """A number for the text summaries: `digits` decimals, "n/a" when missing."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def analysable(fn: Callable[[], T]) -> T:
    """Run an outcomes analysis; registry values it cannot analyse become a refusal saying so.

    Only the two kinds meaning "the stored data is unusable" are re-worded; every other
    expected failure reaches the CLI's error handler unchanged, and a bug stays a traceback.
    """
    from renalpath.clinical.common import ClinicalInputError
    from renalpath.registry.frames import FramesError

    try:
        return fn()
    except (ClinicalInputError, FramesError) as err:
        raise Refusal(f"registry data cannot be analysed: {err}") from err
