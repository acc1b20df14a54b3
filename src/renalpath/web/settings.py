"""Settings of one web-app instance.

Kept as a plain frozen dataclass (not read from the environment at import time) so tests can
build several differently configured apps in one process; `settings_from_env` is what
`renalpath serve` uses.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field

from renalpath.registry.db import ENV_VAR, resolve_url

SECRET_ENV = "RENALPATH_SECRET_KEY"
DB_ENV = ENV_VAR  # RENALPATH_DATABASE_URL (design §5)


@dataclass(frozen=True)
class WebSettings:
    """What differs between a test app, the demo and a department's server."""

    # Signs the session cookie; a per-process random key means sessions end at restart.
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    database_url: str | None = None
    # Secure flag on the session cookie: set when the server is behind HTTPS.
    https_only: bool = False
    session_max_age_s: int = 8 * 3600  # one working day
    # Login throttling: this many failures for one user name from one address within the
    # window lock further attempts until the oldest failure leaves the window.
    login_max_failures: int = 5
    login_window_s: int = 15 * 60
    # Request bodies: JSON and forms are small; the registry import takes a zip upload.
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 51 * 1024 * 1024
    # A web import answers at once when done within this time, else sends to its job page.
    import_wait_s: float = 2.0
    demo: bool = False
    title: str = "renalpath"


DEMO_ENV = "RENALPATH_DEMO"


def settings_from_env(
    *, database_url: str | None = None, demo: bool = False, https_only: bool | None = None
) -> WebSettings:
    """Settings for `renalpath serve`: secret and database from the environment if set."""
    secret = os.environ.get(SECRET_ENV) or secrets.token_urlsafe(32)
    url = resolve_url(database_url)  # --db, else the environment, else ./renalpath.db
    secure = https_only if https_only is not None else os.environ.get("RENALPATH_HTTPS") == "1"
    demo = demo or os.environ.get(DEMO_ENV) == "1"
    return WebSettings(secret_key=secret, database_url=url, https_only=secure, demo=demo)
