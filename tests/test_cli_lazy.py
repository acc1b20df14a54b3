"""The CLI starts fast: a command imports only its own layer, `--help` imports no command.

Run in a fresh interpreter (subprocess) because the test process itself has long since
imported pandas and SQLAlchemy.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from renalpath.cli.lazy import COMMANDS, load_command

HEAVY = ("pandas", "scipy", "sqlalchemy", "alembic", "lifelines", "statsmodels", "fastapi")

PROBE = """
import json, sys
sys.argv = ["renalpath", *json.loads(sys.argv[1])]
from renalpath.cli import main
try:
    main()
except SystemExit:
    pass
print("\\nMODULES " + json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _modules_after(*args: str) -> set[str]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = run.stderr.rsplit("MODULES ", 1)[-1]
    return set(json.loads(line))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


def test_calc_imports_no_pandas_sqlalchemy_scipy() -> None:
    loaded = _modules_after(
        "calc",
        "egfr",
        "--creatinine",
        "1.2",
        "--unit",
        "mg/dL",
        "--age",
        "60",
        "--sex",
        "male",
        "--json",
    )
    assert "renalpath.clinical.egfr" in loaded  # the probe really ran the calculator
    assert _heavy(loaded) == []


def test_explain_and_prognosis_calculators_stay_light() -> None:
    loaded = _modules_after("calc", "imdc", "--explain")
    assert "renalpath.clinical.imdc" in loaded
    assert _heavy(loaded) == []


def test_a_calculator_loads_only_its_own_area() -> None:
    """`calc egfr` builds one command: the prognostic scores' catalogue area stays unimported."""
    loaded = _modules_after(
        "calc",
        "egfr",
        "--creatinine",
        "1.2",
        "--unit",
        "mg/dL",
        "--age",
        "60",
        "--sex",
        "male",
        "--json",
    )
    assert "renalpath.calculators.egfr" in loaded
    assert "renalpath.calculators.pathology" not in loaded
    assert "renalpath.clinical.leibovich" not in loaded


def test_top_level_help_imports_no_command() -> None:
    loaded = _modules_after("--help")
    commands = {f"renalpath.cli.{c.module}" for c in COMMANDS}
    assert sorted(commands & loaded) == []
    assert _heavy(loaded) == []
    assert "numpy" not in loaded


@pytest.mark.parametrize(
    "args", [("--help",), ("calc", "--help"), ("calc", "egfr", "--bogus"), ("study", "--help")]
)
def test_help_and_usage_errors_load_no_rich(args: tuple[str, ...]) -> None:
    """Help and usage errors are Click's plain text: Typer's rich help (Markdown, tracebacks,
    tables) costs about half of `renalpath --help`'s start-up."""
    loaded = _modules_after(*args)
    assert sorted(m for m in loaded if m.split(".")[0] == "rich") == []


@pytest.mark.parametrize("entry", COMMANDS, ids=lambda c: c.name)
def test_every_command_help_imports_no_heavy_library(entry: object) -> None:
    """`renalpath <command> --help` builds the command's options only: no pandas, SciPy,
    SQLAlchemy, FastAPI (the option lists come from light modules)."""
    from renalpath.cli.lazy import LazyCommand

    assert isinstance(entry, LazyCommand)
    loaded = _modules_after(entry.name, "--help")
    assert f"renalpath.cli.{entry.module}" in loaded  # the probe really built the command
    assert _heavy(loaded) == []


@pytest.mark.parametrize(
    "args",
    [
        ("study", "salvage", "--help"),
        ("study", "survival", "--help"),
        ("audit", "concordance", "--help"),
        ("audit", "verify", "--help"),
    ],
    ids=" ".join,
)
def test_study_and_audit_subcommand_help_stays_light(args: tuple[str, ...]) -> None:
    loaded = _modules_after(*args)
    assert _heavy(loaded) == []
    assert "numpy" not in loaded


def test_study_help_lists_the_endpoints_and_fields_it_accepts() -> None:
    """The option lists came from `outcomes.study_options`, not from the analyses."""
    from renalpath.outcomes.study_options import BY_FIELDS, ENDPOINTS

    loaded = _modules_after("study", "survival", "--help")
    assert "renalpath.outcomes.study_options" in loaded
    assert "renalpath.outcomes.survival_by_group" not in loaded
    assert ENDPOINTS and BY_FIELDS


@pytest.mark.parametrize("entry", COMMANDS, ids=lambda c: c.name)
def test_command_table_help_is_the_commands_own(entry: object) -> None:
    """The table repeats each command's one-line help so `--help` needs no import; in step."""
    from renalpath.cli.lazy import LazyCommand

    assert isinstance(entry, LazyCommand)
    cmd = load_command(entry.name)
    own = (cmd.help or "").split("\n\n")[0].replace("\n", " ").strip()
    assert own == entry.help


def test_import_default_equation_matches_registry() -> None:
    from renalpath.cli.import_cmd import DEFAULT_EQUATION
    from renalpath.registry.derived import DEFAULT_EQUATION as REGISTRY_DEFAULT

    assert DEFAULT_EQUATION == REGISTRY_DEFAULT
