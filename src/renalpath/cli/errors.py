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
    except Exception as err:
        # SQLite's "database is locked" after the whole busy timeout is a busy registry, not a
        # bug; the check imports the registry layer only when a command has already failed.
        if type(err).__module__.startswith("sqlalchemy"):
            from renalpath.registry.db import BUSY_MESSAGE, is_busy

            if is_busy(err):
                typer.echo(f"refused: {BUSY_MESSAGE}", err=True)
                raise typer.Exit(1) from None
        raise
