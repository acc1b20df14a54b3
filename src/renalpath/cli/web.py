"""`renalpath serve` (the web app) and `renalpath users …` (accounts and API tokens).

Exit codes (design §5): 0 ok, 1 refusal (reason on stderr), 2 usage error.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
from typing import Annotated

import typer
from sqlalchemy import Engine

from renalpath.cli import app
from renalpath.cli.calc import refuse

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="RENALPATH_DATABASE_URL",
        help="Database URL (sqlite:///FILE or postgresql+psycopg://…); "
        "default sqlite:///./renalpath.db.",
    ),
]

users_app = typer.Typer(help="User accounts (admin | clinician | researcher) and API tokens.")
app.add_typer(users_app, name="users")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Use ./renalpath-demo.db, created once with synthetic patients and demo users.",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(min=1, max=32, help="Worker processes (one per CPU core is typical)."),
    ] = 1,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            help="Log one line per request (off saves CPU on a busy API server).",
        ),
    ] = True,
    db: DbOpt = None,
) -> None:
    """Run the web app: clinician UI and REST API (/api/v1, docs at /docs)."""
    import secrets

    import uvicorn

    from renalpath.registry.db import SchemaError, make_engine, require_schema, resolve_url
    from renalpath.web.settings import DB_ENV, DEMO_ENV, SECRET_ENV

    if demo:
        from renalpath.web.demo import ensure_demo

        info = ensure_demo(say=lambda m: typer.echo(m, err=True))
        url = info.database_url
    else:
        url = resolve_url(db)
        try:
            require_schema(make_engine(url))
        except SchemaError as err:
            refuse(str(err))
            return
    # Workers build the app from the environment; all must share one session-signing key.
    os.environ[DB_ENV] = url
    os.environ.setdefault(SECRET_ENV, secrets.token_urlsafe(32))
    if demo:
        os.environ[DEMO_ENV] = "1"
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"renalpath web app on http://{shown}:{port}/  (API docs: /docs)")
    if demo:
        typer.echo(f"demo registry: {url} ({info.patients} synthetic patients)")
        typer.echo("demo accounts (user / password):")
        for name, role, password in info.users:
            typer.echo(f"  {name:<11} / {password:<16} ({role})")
        if not _is_loopback(host):
            typer.echo(
                f"warning: the demo passwords are public and {host} is not a loopback address",
                err=True,
            )
    uvicorn.run(
        "renalpath.web.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=access_log,
        proxy_headers=False,
        # the C parser (a dependency): fail loudly rather than fall back to h11 silently;
        # loop "auto" takes uvloop (a dependency except on Windows)
        http="httptools",
    )


def _password(given: str | None) -> str:
    """--password, else a hidden prompt with confirmation, else one line of stdin."""
    if given is not None:
        return given
    if sys.stdin.isatty():
        value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return value
    return sys.stdin.readline().rstrip("\r\n")


def _engine(db: str | None) -> Engine:
    from renalpath.registry.db import SchemaError, make_engine, require_schema

    engine = make_engine(db)
    try:
        require_schema(engine)
    except SchemaError as err:
        refuse(str(err))
    return engine


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (no spaces).")],
    role: Annotated[str, typer.Option(help="admin | clinician | researcher.")],
    password: Annotated[
        str | None,
        typer.Option(help="Password (else prompted, or read from stdin when not a terminal)."),
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Reason recorded in the audit trail.")] = None,
    db: DbOpt = None,
) -> None:
    """Create a user account (password hashed with Argon2id)."""
    from renalpath.registry import accounts
    from renalpath.registry.accounts import check_password
    from renalpath.registry.audit import cli_actor
    from renalpath.web.auth import PASSWORDS

    try:
        accounts.check_role(role)
        accounts.check_name(name)
    except accounts.AccountError as err:
        refuse(str(err))
    secret = _password(password)
    try:
        check_password(secret, name)
    except accounts.AccountError as err:
        refuse(str(err))
    engine = _engine(db)
    try:
        with engine.begin() as conn:
            acc = accounts.create_user(
                conn, name, role, PASSWORDS.hash(secret), cli_actor(), reason or "users add"
            )
    except accounts.AccountError as err:
        refuse(str(err))
        return
    typer.echo(f"created user {acc.name} ({acc.role})")


@users_app.command("list")
def users_list(
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """List user accounts (name, role, active)."""
    from renalpath.registry import accounts

    with _engine(db).connect() as conn:
        rows = accounts.list_users(conn)
    if as_json:
        payload = [{"name": a.name, "role": a.role, "active": a.active} for a in rows]
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    for a in rows:
        typer.echo(f"{a.name:<20} {a.role:<11} {'active' if a.active else 'inactive'}")


@users_app.command("token")
def users_token(
    name: Annotated[str, typer.Argument(help="The user the token acts as.")],
    label: Annotated[str, typer.Option(help="What the token is for.")] = "script",
    db: DbOpt = None,
) -> None:
    """Issue an API token (Authorization: Bearer …); it is printed once and not stored."""
    from renalpath.registry import accounts
    from renalpath.registry.audit import cli_actor

    try:
        with _engine(db).begin() as conn:
            token = accounts.issue_token(conn, name, label, cli_actor(), "users token")
    except accounts.AccountError as err:
        refuse(str(err))
        return
    typer.echo(token)


@users_app.command("deactivate")
def users_deactivate(
    name: Annotated[str, typer.Argument(help="User to deactivate (sessions and tokens stop).")],
    reason: Annotated[str | None, typer.Option(help="Reason recorded in the audit trail.")] = None,
    db: DbOpt = None,
) -> None:
    """Deactivate a user: logins, sessions and API tokens stop working at once."""
    from renalpath.registry import accounts
    from renalpath.registry.audit import cli_actor

    try:
        with _engine(db).begin() as conn:
            accounts.set_active(conn, name, False, cli_actor(), reason or "users deactivate")
    except accounts.AccountError as err:
        refuse(str(err))
        return
    typer.echo(f"deactivated {name}")
