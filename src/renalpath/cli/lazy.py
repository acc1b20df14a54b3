"""The command table of `renalpath` and the group that imports a command only when it runs.

Why: importing every layer up front (pandas, SciPy, lifelines, SQLAlchemy, Alembic) made
`renalpath --help` and `renalpath calc egfr` take seconds although a calculator needs only the
clinical layer. Each top-level command lives in its own module under `renalpath.cli`, exposing a
Typer app named `app`; the table below names the module and repeats the one-line help, so the
top-level `--help` lists every command without importing any of them (a test checks that the
repeated help equals the command's own).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import typer

# Typer vendors its own copy of Click; its command and context types are these.
from typer import _click as click
from typer.core import TyperCommand, TyperGroup

from renalpath.cli.options import new_app


@dataclass(frozen=True)
class LazyCommand:
    """A top-level command: its name, the module defining it, its one-line help."""

    name: str
    module: str
    help: str


# The order is the order of `renalpath --help`.
COMMANDS: tuple[LazyCommand, ...] = (
    LazyCommand(
        "recommend",
        "recommend",
        "Treatment options for one case, each with status, strength, reason and sources.",
    ),
    LazyCommand(
        "import",
        "import_cmd",
        "Validate a registry folder and load it (all or nothing; re-import changes nothing).",
    ),
    LazyCommand(
        "export",
        "export",
        "Write the registry as CSV files in the import format (lossless round trip), or FHIR.",
    ),
    LazyCommand("dictionary", "dictionary", "Print the registry data dictionary."),
    LazyCommand(
        "synth",
        "synth",
        "Write a synthetic registry folder (the CSV files `import` reads); entirely synthetic "
        "data.",
    ),
    LazyCommand(
        "serve", "serve", "Run the web app: clinician UI and REST API (/api/v1, docs at /docs)."
    ),
    LazyCommand(
        "calc",
        "calc",
        "Clinical calculators (eGFR, nephrometry, TNM, prognosis, Clavien-Dindo, Mirels).",
    ),
    LazyCommand("schema", "schema", "Print input schemas (JSON Schema draft 2020-12)."),
    LazyCommand("db", "db", "Create or migrate the registry database."),
    LazyCommand("audit", "audit", "The hash-chained audit trail."),
    LazyCommand("study", "study", "Outcome studies on the registry."),
    LazyCommand("users", "users", "User accounts (admin | clinician | researcher) and API tokens."),
)
_BY_NAME = {c.name: c for c in COMMANDS}
_LOADED: dict[str, click.Command] = {}


def load_command(name: str) -> click.Command:
    """Import the module of command NAME and build its Click command (cached).

    The module's Typer app is mounted on a throwaway parent exactly as `add_typer` /
    `command` would mount it on the top-level app, so a group with one subcommand (`schema
    case`) stays a group and a single command keeps its own name.
    """
    if name not in _LOADED:
        module = importlib.import_module(f"renalpath.cli.{_BY_NAME[name].module}")
        sub: typer.Typer = module.app
        holder = new_app()
        holder.callback()(_no_op)
        if sub.registered_commands and all(c.name == name for c in sub.registered_commands):
            holder.registered_commands.extend(sub.registered_commands)
        else:
            holder.add_typer(sub, name=name)
        parent = typer.main.get_command(holder)
        assert isinstance(parent, TyperGroup)
        _LOADED[name] = parent.commands[name]
    return _LOADED[name]


def _no_op() -> None:
    pass


class _LazyCommands(MutableMapping[str, click.Command]):
    """The group's command mapping: the table's names, each command imported on first access.

    Typer's group reads `self.commands` for lookup and for "did you mean" suggestions, so a
    mapping that loads on access keeps all of that behaviour unchanged.
    """

    def __init__(self) -> None:
        self._extra: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name in _BY_NAME:
            return load_command(name)
        return self._extra[name]

    def __setitem__(self, name: str, cmd: click.Command) -> None:
        self._extra[name] = cmd

    def __delitem__(self, name: str) -> None:
        del self._extra[name]

    def __iter__(self) -> Iterator[str]:
        yield from _BY_NAME
        yield from (n for n in self._extra if n not in _BY_NAME)

    def __len__(self) -> int:
        return len(_BY_NAME) + sum(1 for n in self._extra if n not in _BY_NAME)

    def __contains__(self, name: object) -> bool:
        return name in _BY_NAME or name in self._extra


class LazyGroup(TyperGroup):
    """Top-level group: lists commands from the table, imports one only when it is needed.

    While the group's own help is being written, `get_command` hands out a stub carrying the
    table's one-line help, so listing the commands imports none of them. Expected failures
    raised by any command are mapped to refusals here, in one place (`renalpath.cli.errors`).
    """

    _listing = False

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _LazyCommands()

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # the names only: Typer's own version loads every command

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _BY_NAME.get(cmd_name)
        if entry is not None and self._listing:
            return TyperCommand(cmd_name, help=entry.help)
        return super().get_command(ctx, cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def invoke(self, ctx: click.Context) -> Any:
        from renalpath.cli.errors import handle

        with handle():
            return super().invoke(ctx)
