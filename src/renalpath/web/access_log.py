"""Access-log lines without patient data.

Paths name records (`/patients/SYN000123/labs/7`, `/api/v1/tumours/…`), and query strings
can carry ids or a login's `next=` target, so the uvicorn access log would otherwise list who
was looked at.  `PathMaskingFilter` rewrites each access-log record: a segment after a record
collection becomes `~` plus 10 hex digits of a keyed hash (the same id always gives the same
token, so one patient's requests can still be followed in the log without naming them; the
key is the server's secret, so the token cannot be looked up from a list of ids), and the
query string is dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

# Path segments after which the next segment is a record id (or a row id).
RECORD_COLLECTIONS = frozenset(
    {
        "patients",
        "tumours",
        "imaging",
        "interventions",
        "pathology",
        "complications",
        "labs",
        "events",
        "records",
        "jobs",
        "$export-status",  # FHIR bulk export job ids: the job's capability, kept out of logs
        "$export-file",
        "Patient",  # FHIR: /fhir/Patient/{id}/$everything (a `$` segment is an operation)
    }
)


def mask_path(path: str, key: bytes) -> str:
    """`/patients/P1/labs/7?x=1` → `/patients/~3f…/labs/~9a…` (query dropped)."""
    bare, _, query = path.partition("?")
    parts = bare.split("/")
    for i in range(1, len(parts)):
        if parts[i - 1] in RECORD_COLLECTIONS and parts[i] and not parts[i].startswith("$"):
            digest = hmac.new(key, parts[i].encode("utf-8", "replace"), hashlib.sha256)
            parts[i] = "~" + digest.hexdigest()[:10]
    return "/".join(parts) + ("?…" if query else "")


class PathMaskingFilter(logging.Filter):
    """Rewrites uvicorn access-log records: (client, method, path, version, status)."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = hashlib.sha256(b"access-log:" + key.encode()).digest()

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], mask_path(args[2], self.key), *args[3:])
        return True


def install(secret_key: str, logger_name: str = "uvicorn.access") -> None:
    """Mask the access log of this process (once; later calls replace the key)."""
    logger = logging.getLogger(logger_name)
    for old in [f for f in logger.filters if isinstance(f, PathMaskingFilter)]:
        logger.removeFilter(old)
    logger.addFilter(PathMaskingFilter(secret_key))
