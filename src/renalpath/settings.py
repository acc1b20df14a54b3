"""Every `RENALPATH_*` environment variable the package reads, in one typed place.

`Settings()` reads them once (pydantic-settings: types checked, booleans parsed as `1`/`true`,
unknown `RENALPATH_*` names ignored).  The README has the same list as a table; a test keeps
the three in step: every `RENALPATH_*` name in the source is a field here and a row there.

Kept at the top of the package with no other renalpath import, so every layer may read it.
A few low-level modules read their one variable directly, by the name exported here, where
loading pydantic-settings would cost start-up time (the CLI's `--db` default, the engine's
compiled/source switch); the meaning is still documented here.
"""

from __future__ import annotations

import math
from collections import Counter

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "RENALPATH_"
MIN_SECRET_LENGTH = 32
MIN_SECRET_BITS = 128.0


class Settings(BaseSettings):
    """The deployment's configuration; each field is the variable `RENALPATH_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", frozen=True)

    secret_key: SecretStr | None = Field(
        None,
        description="Signs session cookies and keys de-identified exports; required outside "
        "the demo, at least 32 characters of random text (the same for every worker).",
    )
    database_url: str | None = Field(
        None,
        description="Registry database, e.g. sqlite:///./renalpath.db or "
        "postgresql+psycopg://user@host/db (default sqlite:///./renalpath.db).",
    )
    https: bool = Field(
        False,
        description="The server is reached over HTTPS: session cookies get the Secure flag "
        "and responses HSTS (`serve --https` sets it).",
    )
    demo: bool = Field(False, description="Demo server on synthetic data (set by `serve --demo`).")
    pure_python: bool = Field(
        False,
        description="Run the pathway engine from source even when a compiled build exists.",
    )
    open_docs: bool = Field(
        False,
        description="Serve /docs and /openapi.json without login (default: logged-in users only).",
    )
    session_max_age_s: int = Field(
        8 * 3600,
        ge=60,
        description="Absolute lifetime of a browser session in seconds, from login.",
    )
    token_max_age_days: int = Field(90, ge=1, description="Lifetime of a new API token in days.")
    max_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body (JSON or form) in bytes."
    )
    max_upload_bytes: int = Field(
        50 * 1024 * 1024, ge=1024, description="Largest import upload (the zip) in bytes."
    )
    audit_key_file: str | None = Field(
        None,
        description="File holding the audit-trail key (kept outside the database): rows are "
        "HMAC-chained and a signed head is written beside it (docs/audit.md).",
    )
    audit_key: SecretStr | None = Field(
        None,
        description="The audit-trail key itself, instead of a key file (then "
        "RENALPATH_AUDIT_HEAD_DIR says where the signed head is kept).",
    )
    audit_head_dir: str | None = Field(
        None,
        description="Folder for the audit trail's signed head when the key comes from "
        "RENALPATH_AUDIT_KEY (default: beside the key file).",
    )
    deid_key_file: str | None = Field(
        None,
        description="Persistent key file for de-identified exports (stable pseudonyms and "
        "date shifts across exports; docs/deidentification.md).",
    )
    sqlite_busy_timeout_ms: int = Field(
        30_000,
        ge=0,
        description="How long an SQLite writer waits for another writer's lock before "
        'refusing with "the registry is busy".',
    )
    export_workers: int | None = Field(
        None,
        ge=0,
        description="Worker processes for a FHIR NDJSON export of 5,000 patients or more "
        "(default: 2 where there are 2 cores or more; 0 maps in the one process).",
    )


def env_name(field: str) -> str:
    return PREFIX + field.upper()


def variables() -> dict[str, str]:
    """`RENALPATH_*` name → description, for the README table and its test."""
    return {env_name(name): info.description or "" for name, info in Settings.model_fields.items()}


def secret_problem(key: str | None) -> str | None:
    """Why `key` cannot sign sessions, or None when it is long and varied enough.

    The bound is an estimate of the key's entropy: its length times the Shannon entropy of its
    own character frequencies.  Random text of 32 or more URL-safe characters clears it by far;
    a word, a repeated pattern or a short key does not (`changeme` is 8 characters and ~21
    bits).
    """
    if not key:
        return "no secret key is set (RENALPATH_SECRET_KEY)"
    if len(key) < MIN_SECRET_LENGTH:
        return f"the secret key is too short ({len(key)} characters; at least {MIN_SECRET_LENGTH})"
    counts = Counter(key)
    per_char = -sum(n / len(key) * math.log2(n / len(key)) for n in counts.values())
    bits = per_char * len(key)
    if bits < MIN_SECRET_BITS:
        return f"the secret key is not random enough (about {bits:.0f} bits; at least 128)"
    return None
