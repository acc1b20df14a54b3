"""The one place where the CLI turns an expected failure into a refusal on stderr.

A `RenalpathError` (any kind: refusal, not found, conflict, missing schema) prints one
`refused: …` line per problem and exits with the kind's exit code (1). Anything else is a bug
and propagates: Python prints the traceback and exits 1, so it is never mistaken for a
clinical refusal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from renalpath.errors import RenalpathError


@contextmanager
def handle() -> Iterator[None]:
    """Run a command; map the expected failures it raises to a refusal and an exit code."""
    try:
        yield
    except RenalpathError as err:
        for line in err.messages():
            typer.echo(f"refused: {line}", err=True)
        raise typer.Exit(err.exit_code) from None
