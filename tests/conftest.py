"""Shared fixtures: reference data, the CLI (in-process and as a script), PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TEST_DATA = REPO / "tests" / "data"
# Optional reference data kept outside the repository (licences forbid copying it in): a
# folder named `shared` beside the checkout, or RENALPATH_SHARED_DIR.
SHARED = Path(os.environ.get("RENALPATH_SHARED_DIR", REPO.parent / "shared"))
REFDATA = SHARED / "refdata"


def renalpath_exe() -> str:
    """The installed console script (for the few smoke tests that go through it)."""
    local = Path(sys.executable).parent / "renalpath"
    if local.exists():
        return str(local)
    found = shutil.which("renalpath")
    if not found:
        raise RuntimeError("renalpath console script not installed; run `make install`")
    return found


def run_script(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the console script `renalpath ARGS…` in a subprocess, as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [renalpath_exe(), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        input=input_text,
        timeout=600,
    )


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `renalpath ARGS…` in this process (Typer's CliRunner) and capture its output.

    Same result shape as `run_script` (returncode, stdout, stderr), without paying the
    interpreter start-up for every call. An unexpected exception (a bug) propagates into the
    test with its traceback instead of being folded into an exit code.
    """
    from typer.testing import CliRunner

    from renalpath.cli import app

    previous = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = CliRunner().invoke(
            app,
            list(args),
            input=input_text,
            env=env,
            catch_exceptions=False,
            prog_name="renalpath",
        )
    finally:
        os.chdir(previous)
    return subprocess.CompletedProcess(
        ["renalpath", *args], result.exit_code, result.stdout, result.stderr
    )


@pytest.fixture
def cli():  # type: ignore[no-untyped-def]
    return run_cli


@pytest.fixture
def kits19_dir() -> Path:
    """The de-identified KiTS19 cohort: its licence forbids copying it in, so skip if absent."""
    path = REFDATA / "kits19"
    if not (path / "kits19_registry_flat.csv").exists():
        pytest.skip("shared/refdata/kits19 not present")
    return path


@pytest.fixture
def pg_url() -> str:
    """PostgreSQL URL for tests; skip without one unless RENALPATH_REQUIRE_PG=1."""
    url = os.environ.get("RENALPATH_TEST_PG_URL")
    if not url:
        if os.environ.get("RENALPATH_REQUIRE_PG") == "1":
            pytest.fail("RENALPATH_REQUIRE_PG=1 but RENALPATH_TEST_PG_URL is not set")
        pytest.skip("RENALPATH_TEST_PG_URL not set")
    return url
