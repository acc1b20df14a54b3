"""`renalpath serve --demo`: an SQLite registry filled with synthetic patients, demo accounts.

Created once (a second start reuses the file, so demo edits survive a restart).  The demo
passwords are fixed and printed on every start: the data are entirely synthetic and the
server listens on 127.0.0.1 unless told otherwise, where `serve` warns.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from renalpath.registry import accounts
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
    engine.dispose()
    return DemoInfo(url, count, created, DEMO_USERS)
