"""`renalpath calc NAME`: every clinical calculator, with `--json` and `--explain`.

The commands are generated from the calculator catalogue (`renalpath.calculators`): one option
per request field, spelled `--field-name` unless the catalogue gives the command line its own
flags, with the field's description as help. Only the text rendering lives here
(`renalpath.cli.calc_render`). A command is built — and its catalogue area imported — only
when it runs, so `renalpath calc egfr` loads neither the prognostic scores nor pandas, SciPy
or SQLAlchemy. Exit codes: 0 ok, 1 clinical/validation refusal (reason on stderr), 2 usage
error (Typer/Click's own).
"""

from __future__ import annotations

import inspect
import json
import sys
import types
import typing
from collections.abc import Callable
from typing import Any

import typer
from typer import _click as click
from typer.core import TyperGroup
from typer.models import CommandInfo

from renalpath.calculators import OWNERS
from renalpath.cli.options import ExplainOpt, JsonOpt, new_app

if typing.TYPE_CHECKING:
    from pydantic.fields import FieldInfo


class CalcGroup(TyperGroup):
    """The `calc` group: builds a calculator's command from the catalogue on first use."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in OWNERS:
            self.commands[cmd_name] = typer.main.get_command_from_info(
                command_info(cmd_name),
                pretty_exceptions_short=calc_app.pretty_exceptions_short,
                rich_markup_mode=calc_app.rich_markup_mode,
            )
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(OWNERS)


calc_app = new_app(
    help="Clinical calculators (eGFR, nephrometry, TNM, prognosis, Clavien-Dindo, Mirels).",
    no_args_is_help=True,
    cls=CalcGroup,
)
app = calc_app


def command_info(name: str) -> CommandInfo:
    """The Typer command of calculator NAME, generated from its catalogue entry."""
    from renalpath import calculators
    from renalpath.cli.calc_render import RENDER

    calc = calculators.get(name)
    params: list[inspect.Parameter] = []
    annotations: dict[str, Any] = {}
    for field_name, info in calc.request.model_fields.items():
        py_type, default = _cli_type(info)
        flags = calc.cli_flags.get(field_name) or _default_flags(field_name, py_type, default)
        option = typer.Option(
            default, *flags, help=_help(info), show_default=default not in (None, False)
        )
        params.append(inspect.Parameter(field_name, inspect.Parameter.KEYWORD_ONLY, default=option))
        annotations[field_name] = py_type
    for extra, opt in (("as_json", JsonOpt), ("explain", ExplainOpt)):
        params.append(inspect.Parameter(extra, inspect.Parameter.KEYWORD_ONLY, default=opt))
        annotations[extra] = bool

    def callback(**values: Any) -> None:
        as_json = values.pop("as_json")
        explain = values.pop("explain")
        spec = calc.spec_for(values)
        run_calculator(spec, explain, as_json, lambda: calc.run(values), RENDER[name])

    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    callback.__annotations__ = annotations
    callback.__name__ = f"{name}_cmd"
    return CommandInfo(name=name, callback=callback, help=calc.help)


def _cli_type(info: FieldInfo) -> tuple[Any, Any]:
    """(Python type Typer parses, default) of a request field.

    A closed choice (Literal) is read as text and checked by the calculator itself, so a bad
    value is refused with the calculator's own message, as on the web.
    """
    annotation: Any = info.annotation
    optional = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        annotation = args[0]
    if typing.get_origin(annotation) is typing.Literal:
        annotation = str
    if optional:
        return annotation | None, info.default
    return annotation, info.default


def _default_flags(field_name: str, py_type: Any, default: Any) -> tuple[str, ...]:
    flag = "--" + field_name.replace("_", "-")
    if py_type is bool and default is False:
        return (flag,)  # a plain switch, as `--hilar`
    if py_type is bool or py_type == bool | None:
        return (f"{flag}/--no-{field_name.replace('_', '-')}",)
    return (flag,)


def _help(info: FieldInfo) -> str:
    """The field's description, with its closed choices when the description omits them."""
    text = (info.description or "").rstrip(".")
    choices = [
        str(c)
        for arg in (info.annotation, *typing.get_args(info.annotation))
        if typing.get_origin(arg) is typing.Literal
        for c in typing.get_args(arg)
    ]
    if choices and choices[0] not in text:
        text += ": " + " | ".join(choices)
    return text + "."


def run_calculator(
    spec: Any,
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


__all__ = ["CalcGroup", "app", "calc_app", "command_info", "run_calculator"]
