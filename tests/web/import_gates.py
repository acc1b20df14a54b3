"""Stand-ins for `import_child.run_import`, run in the import process (they must pickle, so
they live at module level here).

The test and the child are in different processes, so they signal through files in the
folder of the test's SQLite database: the child touches `entered`, then waits for the test
to touch `release`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import make_url

from renalpath.web import offload
from renalpath.web.import_child import ImportOutcome, ImportRequest, run_import

WAIT_S = 120.0  # a child process starts slowly on a busy machine


def gate_dir(req_or_url: ImportRequest | str) -> Path:
    url = req_or_url if isinstance(req_or_url, str) else req_or_url.db_url
    database = make_url(url).database
    assert database, url
    return Path(database).parent


def _wait_for_release(req: ImportRequest) -> None:
    folder = gate_dir(req)
    (folder / "entered").write_text(str(os.getpid()))
    deadline = time.monotonic() + WAIT_S
    while not (folder / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def gated_refusal(req: ImportRequest) -> ImportOutcome:
    """Wait for the test's signal, then refuse (nothing imported)."""
    _wait_for_release(req)
    return ImportOutcome(os.getpid(), refusal="stopped by the test", status=422)


def gated_import(req: ImportRequest) -> ImportOutcome:
    """Wait for the test's signal, then import for real."""
    _wait_for_release(req)
    return run_import(req)


HELD = "held by the test"


def reporting_gate(req: ImportRequest) -> ImportOutcome:
    """Report a stage of its own, wait for the test's signal, then import for real."""
    offload.report(req.token, HELD)
    _wait_for_release(req)
    return run_import(req)


def raising(req: ImportRequest) -> ImportOutcome:
    """An unexpected error in the import process."""
    raise RuntimeError("broken in the import process")


def dying(req: ImportRequest) -> ImportOutcome:
    """The import process dies (as when the kernel kills it for memory)."""
    os._exit(3)


def wait_for_file(path: Path, timeout_s: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return path.exists()
