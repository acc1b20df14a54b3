"""The `renalpath` command line: thin wrappers that parse arguments, call the layers, print.

Each top-level command lives in its own module (`renalpath.cli.<module>`, listed in
`renalpath.cli.lazy.COMMANDS`) and is imported only when it runs, so `renalpath --help` and
`renalpath calc …` start without loading pandas, SciPy or SQLAlchemy. Options shared by several
commands are in `renalpath.cli.options`; expected failures are turned into refusals in one place,
`renalpath.cli.errors`.
"""

from __future__ import annotations

from renalpath.cli.lazy import LazyGroup
from renalpath.cli.options import new_app

app = new_app(
    name="renalpath",
    cls=LazyGroup,
    help=(
        "renalpath — kidney cancer (RCC) decision support, calculators, registry and outcomes.\n\n"
        "Supports clinicians' decisions; not a certified medical device."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    # A callback makes Typer build a group even though the commands are added lazily.
    pass


def main() -> None:
    """Console-script entry point."""
    app()
