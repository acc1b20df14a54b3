"""Opening the registry for a command, with operational failures as one-line refusals.

Why here: every command that touches the database must say "no database at FILE" for a
mistyped SQLite path (a read must never create an empty database), name a malformed URL, and
turn an unreachable server, wrong credentials or a read-only file into a message rather than
a traceback. SQLAlchemy is imported only inside the functions, so `calc` and `--help` stay
light.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from renalpath.cli.options import refuse

if TYPE_CHECKING:
    from sqlalchemy import Engine


def engine_for(db: str | None, *, create: bool = False) -> Engine:
    """The engine for `--db`; refuses a malformed URL and, unless `create`, a SQLite file
    that does not exist (only `db init|upgrade` and `import` may create one)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from renalpath.registry.db import make_engine, resolve_url

    url = resolve_url(db)
    try:
        parsed = make_url(url)
    except ArgumentError:
        refuse(f"{url!r} is not a database URL (sqlite:///FILE or postgresql+psycopg://…)")
    if parsed.get_backend_name() == "sqlite" and not create:
        path = parsed.database or ""
        if path not in ("", ":memory:") and not Path(path).exists():
            refuse(f"no database at {path} (check --db; `renalpath db init` creates one)")
    try:
        return make_engine(url)
    except (ArgumentError, NoSuchModuleError) as err:
        refuse(f"cannot use database URL {parsed.render_as_string()}: {err}")


@contextmanager
def database_errors(engine: Engine) -> Iterator[None]:
    """Unreachable server, wrong credentials, read-only file: one line, no traceback.

    A busy SQLite registry is left to the CLI's error handler, which has its own message.
    """
    from sqlalchemy.exc import DBAPIError

    from renalpath.registry.db import is_busy

    try:
        yield
    except DBAPIError as err:
        if is_busy(err):
            raise
        detail = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
        refuse(f"database {engine.url.render_as_string()}: {detail}")


def refuse_existing(folder: Path, force: bool) -> None:
    """An export never writes into a folder that already holds files unless told to."""
    if force or not folder.exists():
        return
    if folder.is_file() or any(folder.iterdir()):
        refuse(
            f"{folder} already exists and is not empty (choose a new folder, or --force to "
            "overwrite the registry files in it)"
        )
