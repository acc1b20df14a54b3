"""`renalpath serve` (the web app) and `renalpath users …` (accounts and API tokens).

Exit codes: 0 ok, 1 refusal (reason on stderr), 2 usage error.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
from pathlib import Path
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
    https: Annotated[
        bool,
        typer.Option(
            "--https",
            help="Users reach the server over HTTPS (through a TLS proxy, or with --ssl-certfile "
            "and --ssl-keyfile): session cookies get the Secure flag and responses HSTS.",
        ),
    ] = False,
    ssl_certfile: Annotated[
        Path | None, typer.Option(help="TLS certificate (PEM): serve HTTPS directly.")
    ] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM).")] = None,
    proxy_headers: Annotated[
        bool,
        typer.Option(
            "--proxy-headers",
            help="Behind a reverse proxy: take the client address and scheme from its "
            "X-Forwarded-For/-Proto headers (login limits are per client address), trusting "
            "only the proxies in --forwarded-allow-ips.",
        ),
    ] = False,
    forwarded_allow_ips: Annotated[
        str,
        typer.Option(help="Comma-separated proxy addresses whose forwarded headers count."),
    ] = "127.0.0.1",
    db: DbOpt = None,
) -> None:
    """Run the web app: clinician UI and REST API (/api/v1, docs at /docs).

    Outside --demo, RENALPATH_SECRET_KEY must hold at least 32 random characters.
    """
    import secrets

    import uvicorn

    from renalpath.registry.db import SchemaError, make_engine, require_schema, resolve_url
    from renalpath.settings import secret_problem
    from renalpath.web.settings import DB_ENV, DEMO_ENV, HTTPS_ENV, SECRET_ENV, SECRET_HELP_TEXT

    if (ssl_certfile is None) != (ssl_keyfile is None):
        refuse("--ssl-certfile and --ssl-keyfile go together")

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
    problem = secret_problem(os.environ.get(SECRET_ENV))
    if problem is not None:
        if not demo:
            refuse(f"{problem}; {SECRET_HELP_TEXT}")
        os.environ[SECRET_ENV] = secrets.token_urlsafe(32)  # demo: sessions end at restart
    os.environ[DB_ENV] = url
    if demo:
        os.environ[DEMO_ENV] = "1"
    if https or ssl_certfile is not None:
        os.environ[HTTPS_ENV] = "1"
    shown = f"[{host}]" if ":" in host else host
    scheme = "https" if ssl_certfile is not None else "http"
    typer.echo(f"renalpath web app on {scheme}://{shown}:{port}/  (API docs: /docs)")
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
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips if proxy_headers else None,
        ssl_certfile=str(ssl_certfile) if ssl_certfile else None,
        ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
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
    days: Annotated[int, typer.Option(min=1, max=3650, help="Days until it expires.")] = 90,
    db: DbOpt = None,
) -> None:
    """Issue an API token (Authorization: Bearer …); it is printed once and not stored."""
    from renalpath.registry import accounts
    from renalpath.registry.audit import cli_actor

    try:
        with _engine(db).begin() as conn:
            token = accounts.issue_token(conn, name, label, cli_actor(), "users token", days)
    except accounts.AccountError as err:
        refuse(str(err))
        return
    typer.echo(token)


@users_app.command("tokens")
def users_tokens(
    name: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None,
    db: DbOpt = None,
) -> None:
    """List API tokens (id, user, label, created, expires, status); never the tokens."""
    from renalpath.registry import accounts

    with _engine(db).connect() as conn:
        rows = accounts.list_tokens(conn, name)
    for t in rows:
        status = "revoked" if t.revoked else "valid"
        typer.echo(
            f"{t.id:>5} {t.user:<20} {t.label:<20} {t.created_at[:16]} "
            f"{(t.expires_at or '-')[:16]:<16} {status}"
        )


@users_app.command("revoke-token")
def users_revoke_token(
    token_id: Annotated[int, typer.Argument(help="Token id, from `users tokens`.")],
    reason: Annotated[str | None, typer.Option(help="Reason recorded in the audit trail.")] = None,
    db: DbOpt = None,
) -> None:
    """Revoke one API token; the user's other tokens keep working."""
    from renalpath.registry import accounts
    from renalpath.registry.audit import cli_actor

    try:
        with _engine(db).begin() as conn:
            info = accounts.revoke_token(
                conn, token_id, cli_actor(), reason or "users revoke-token"
            )
    except accounts.AccountError as err:
        refuse(str(err))
        return
    typer.echo(f"revoked token {info.id} of {info.user} ({info.label})")


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument(help="User whose password to set.")],
    password: Annotated[
        str | None,
        typer.Option(help="New password (else prompted, or read from stdin when not a terminal)."),
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Reason recorded in the audit trail.")] = None,
    db: DbOpt = None,
) -> None:
    """Set a user's password: every session of the user ends and every API token is revoked."""
    from renalpath.registry import accounts
    from renalpath.registry.audit import cli_actor
    from renalpath.web.auth import PASSWORDS

    secret = _password(password)
    try:
        accounts.check_password(secret, name)
        with _engine(db).begin() as conn:
            accounts.set_password(
                conn, name, PASSWORDS.hash(secret), cli_actor(), reason or "users passwd"
            )
    except accounts.AccountError as err:
        refuse(str(err))
        return
    typer.echo(f"password of {name} changed; sessions ended and API tokens revoked")


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
