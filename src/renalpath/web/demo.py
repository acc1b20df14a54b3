"""`renalpath serve --demo`: an SQLite registry filled with synthetic patients, demo accounts.

Created once (a second start reuses the file, so demo edits survive a restart).  The demo
passwords are fixed and printed on every start: the data are entirely synthetic and the
server listens on 127.0.0.1 unless told otherwise, where `serve` warns.

Unless an audit key is configured, the demo keys its audit trail with a key file created
beside the database (`renalpath-demo.db.audit-key`, owner-only), the signed head next to it
(likewise the de-identification key, `renalpath-demo.db.deid-key`):
the demo shows the keyed trail at work, but a key beside the database protects nothing
against whoever can write that folder — a department configures its own key elsewhere.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from renalpath.registry import accounts, audit
from renalpath.registry import deidentify as deid
from renalpath.registry.audit_seal import KEY_FILE_ENV, load_key, new_key_file
from renalpath.registry.db import make_engine, upgrade
from renalpath.registry.importer import import_folder
from renalpath.registry.models import Patient
from renalpath.synth.writer import write_registry
from renalpath.web.auth import PASSWORDS

DEMO_DB = Path("renalpath-demo.db")
DEMO_PATIENTS = 300
DEMO_SEED = 1
DEMO_ACTOR = "demo-setup"
# user name = role; password = "<role>-demo" (synthetic data only)
DEMO_USERS: tuple[tuple[str, str, str], ...] = tuple(
    (role, role, f"{role}-demo") for role in accounts.ROLES
)


@dataclass(frozen=True)
class DemoInfo:
    database_url: str
    patients: int
    created: bool
    users: tuple[tuple[str, str, str], ...]  # (name, role, password)


def ensure_demo(
    path: Path = DEMO_DB,
    patients: int = DEMO_PATIENTS,
    seed: int = DEMO_SEED,
    say: Callable[[str], None] = print,
) -> DemoInfo:
    """Create (once) and migrate the demo database; fill it and add the demo users."""
    created = not path.exists()
    new_key = _demo_audit_key(path)
    _demo_deid_key(path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as conn:
        count = int(conn.execute(select(func.count()).select_from(Patient)).scalar_one())
    if count == 0:
        say(f"filling {path} with {patients} synthetic patients (seed {seed}) …")
        with tempfile.TemporaryDirectory(prefix="renalpath-demo-") as tmp:
            write_registry(Path(tmp), patients, seed)
            result = import_folder(
                engine, Path(tmp), actor=DEMO_ACTOR, reason="demo data (renalpath synth)"
            )
        if not result.written:
            raise RuntimeError(f"synthetic demo data did not import: {result.report.to_dict()}")
        count = patients
    with engine.begin() as conn:
        existing = {a.name for a in accounts.list_users(conn)}
        for name, role, password in DEMO_USERS:
            if name not in existing:
                accounts.create_user(
                    conn, name, role, PASSWORDS.hash(password), DEMO_ACTOR, "demo account"
                )
    if new_key and not created:
        audit.seal(engine, DEMO_ACTOR)  # an older demo trail: sealed by the new key
    engine.dispose()
    return DemoInfo(url, count, created, DEMO_USERS)


def _demo_deid_key(path: Path) -> None:
    """Demo de-identified downloads keep their pseudonyms and shifts across restarts."""
    if os.environ.get(deid.KEY_FILE_ENV):
        return
    key_file = path.with_name(path.name + ".deid-key")
    if not key_file.exists():
        deid.new_key_file(key_file)
    os.environ[deid.KEY_FILE_ENV] = str(key_file.resolve())


def _demo_audit_key(path: Path) -> bool:
    """Use (or create) the demo's key file unless a key is configured; True if created."""
    if load_key() is not None:
        return False
    key_file = path.with_name(path.name + ".audit-key")
    created = not key_file.exists()
    if created:
        new_key_file(key_file)
    os.environ[KEY_FILE_ENV] = str(key_file.resolve())
    return created
