"""`renalpath serve`: the web app (clinician UI and REST API) under uvicorn.

Exit codes: 0 ok, 1 refusal (reason on stderr, e.g. a database without the schema), 2 usage
error.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated

import typer

from renalpath.cli.options import DbOpt, new_app

app = new_app()


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

    from renalpath.errors import Refusal
    from renalpath.registry.audit_seal import KEY_ENV, KEY_FILE_ENV, load_key
    from renalpath.registry.db import make_engine, require_schema, resolve_url
    from renalpath.settings import secret_problem
    from renalpath.web.settings import DB_ENV, DEMO_ENV, HTTPS_ENV, SECRET_ENV, SECRET_HELP_TEXT

    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise Refusal("--ssl-certfile and --ssl-keyfile go together")

    if demo:
        from renalpath.web.demo import ensure_demo

        info = ensure_demo(say=lambda m: typer.echo(m, err=True))
        url = info.database_url
    else:
        url = resolve_url(db)
        require_schema(make_engine(url))  # SchemaError: refused by the CLI's error handler
        if load_key() is None:  # AuditKeyError (unusable key): refused the same way
            typer.echo(
                f"warning: no audit key ({KEY_FILE_ENV} or {KEY_ENV}): the audit trail is "
                "unkeyed, so trimming it or rewriting it with recomputed hashes would go "
                "unnoticed (docs/audit.md)",
                err=True,
            )
    # Workers build the app from the environment; all must share one session-signing key.
    problem = secret_problem(os.environ.get(SECRET_ENV))
    if problem is not None:
        if not demo:
            raise Refusal(f"{problem}; {SECRET_HELP_TEXT}")
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
