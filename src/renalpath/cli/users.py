"""`renalpath users …`: user accounts (add, list, passwd, deactivate) and API tokens (token,
tokens, revoke-token).

Exit codes: 0 ok, 1 refusal (reason on stderr: unknown role, weak password, unknown user, a
database without the schema), 2 usage error.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from renalpath.cli.options import DbOpt, new_app

if TYPE_CHECKING:
    from sqlalchemy import Engine

# Not `sub_app`: this group has always been declared without `no_args_is_help` (kept as is).
app = new_app(help="User accounts (admin | clinician | researcher) and API tokens.")


def _password(given: str | None) -> str:
    """--password, else a hidden prompt with confirmation, else one line of stdin."""
    if given is not None:
        return given
    if sys.stdin.isatty():
        value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return value
    return sys.stdin.readline().rstrip("\r\n")


def _engine(db: str | None) -> Engine:
    from renalpath.registry.db import make_engine, require_schema

    engine = make_engine(db)
    require_schema(engine)  # SchemaError: refused by the CLI's error handler
    return engine


@app.command("add")
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

    # An AccountError (unknown role, bad name, weak password, duplicate) is a refusal,
    # reported by the CLI's error handler.
    accounts.check_role(role)
    accounts.check_name(name)
    secret = _password(password)
    check_password(secret, name)
    engine = _engine(db)
    with engine.begin() as conn:
        acc = accounts.create_user(
            conn, name, role, PASSWORDS.hash(secret), cli_actor(), reason or "users add"
        )
    typer.echo(f"created user {acc.name} ({acc.role})")


@app.command("list")
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


@app.command("token")
def users_token(
    name: Annotated[str, typer.Argument(help="The user the token acts as.")],
    label: Annotated[str, typer.Option(help="What the token is for.")] = "script",
    days: Annotated[int, typer.Option(min=1, max=3650, help="Days until it expires.")] = 90,
    db: DbOpt = None,
) -> None:
    """Issue an API token (Authorization: Bearer …); it is printed once and not stored."""
    from renalpath.registry import accounts
    from renalpath.registry.audit import cli_actor

    with _engine(db).begin() as conn:
        token = accounts.issue_token(conn, name, label, cli_actor(), "users token", days)
    typer.echo(token)


@app.command("tokens")
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


@app.command("revoke-token")
def users_revoke_token(
    token_id: Annotated[int, typer.Argument(help="Token id, from `users tokens`.")],
    reason: Annotated[str | None, typer.Option(help="Reason recorded in the audit trail.")] = None,
    db: DbOpt = None,
) -> None:
    """Revoke one API token; the user's other tokens keep working."""
    from renalpath.registry import accounts
    from renalpath.registry.audit import cli_actor

    with _engine(db).begin() as conn:
        info = accounts.revoke_token(conn, token_id, cli_actor(), reason or "users revoke-token")
    typer.echo(f"revoked token {info.id} of {info.user} ({info.label})")


@app.command("passwd")
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
    accounts.check_password(secret, name)
    with _engine(db).begin() as conn:
        accounts.set_password(
            conn, name, PASSWORDS.hash(secret), cli_actor(), reason or "users passwd"
        )
    typer.echo(f"password of {name} changed; sessions ended and API tokens revoked")


@app.command("deactivate")
def users_deactivate(
    name: Annotated[str, typer.Argument(help="User to deactivate (sessions and tokens stop).")],
    reason: Annotated[str | None, typer.Option(help="Reason recorded in the audit trail.")] = None,
    db: DbOpt = None,
) -> None:
    """Deactivate a user: logins, sessions and API tokens stop working at once."""
    from renalpath.registry import accounts
    from renalpath.registry.audit import cli_actor

    with _engine(db).begin() as conn:
        accounts.set_active(conn, name, False, cli_actor(), reason or "users deactivate")
    typer.echo(f"deactivated {name}")
