"""Settings of one web-app instance.

Kept as a plain frozen dataclass (not read from the environment at import time) so tests can
build several differently configured apps in one process; `settings_from_env` is what
`renalpath serve` and its worker processes use, reading `renalpath.settings.Settings`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from renalpath.registry.db import ENV_VAR, resolve_url
from renalpath.settings import Settings, env_name, secret_problem

SECRET_ENV = env_name("secret_key")
DB_ENV = ENV_VAR  # RENALPATH_DATABASE_URL
DEMO_ENV = env_name("demo")
HTTPS_ENV = env_name("https")


class InsecureSettings(ValueError):
    """The server would run with settings an attacker could exploit (a weak secret key)."""


@dataclass(frozen=True)
class WebSettings:
    """What differs between a test app, the demo and a department's server."""

    # Signs the session cookie; a per-process random key means sessions end at restart.
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    database_url: str | None = None
    # Secure flag on the session cookie: set when the server is behind HTTPS.
    https_only: bool = False
    session_max_age_s: int = 8 * 3600  # one working day, counted from login
    token_max_age_days: int = 90
    # Login throttling: per user name, an exponential back-off after `login_free_failures`
    # failures (capped at `login_max_backoff_s`, so nobody can lock the real user out for
    # long); per client address, at most `login_max_failures` failures in the window.
    login_free_failures: int = 3
    login_max_backoff_s: int = 60
    login_max_failures: int = 20
    login_window_s: int = 15 * 60
    # Request bodies: JSON and forms are small; the registry import takes a zip upload.
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 50 * 1024 * 1024  # a 100,000-patient folder zips smaller
    # A web import answers at once when done within this time, else sends to its job page.
    import_wait_s: float = 2.0
    # FHIR Bulk Data `$export` jobs (`web.bulk_export`): one folder per job, shared by every
    # worker process of the server. None: `renalpath-fhir-bulk` in the system temporary folder.
    bulk_export_dir: str | None = None
    # Password hashes (Argon2) in a child process at a lower CPU priority (`web.passwords`):
    # a login storm then takes only the CPU the server leaves. Off: in the hash threads.
    hash_in_process: bool = True
    # API documentation (/docs, /openapi.json) without login.
    open_docs: bool = False
    demo: bool = False
    title: str = "renalpath"


def settings_from_env(
    *, database_url: str | None = None, demo: bool = False, https_only: bool | None = None
) -> WebSettings:
    """Settings for `renalpath serve`; outside the demo a missing or weak key is refused."""
    env = Settings()
    demo = demo or env.demo
    secret = env.secret_key.get_secret_value() if env.secret_key else None
    problem = secret_problem(secret)
    if problem is not None and not demo:
        raise InsecureSettings(f"{problem}; {SECRET_HELP_TEXT}")
    return WebSettings(
        secret_key=secret if secret and problem is None else secrets.token_urlsafe(32),
        database_url=resolve_url(database_url or env.database_url),
        https_only=https_only if https_only is not None else env.https,
        session_max_age_s=env.session_max_age_s,
        token_max_age_days=env.token_max_age_days,
        max_body_bytes=env.max_body_bytes,
        max_upload_bytes=env.max_upload_bytes,
        open_docs=env.open_docs,
        demo=demo,
    )


SECRET_HELP_TEXT = (
    "set RENALPATH_SECRET_KEY to at least 32 random characters, e.g. "
    "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
)
