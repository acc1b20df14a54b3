"""A few runs of the installed console script itself, as a user would start it.

Every other CLI test runs in-process (CliRunner); these check what only a real process shows:
the entry point, exit codes seen by a shell, stdout/stderr separation.
"""

from __future__ import annotations

import json

from tests.conftest import run_script


def test_help_lists_every_command() -> None:
    res = run_script("--help")
    assert res.returncode == 0
    for name in ("recommend", "import", "calc", "study", "serve", "users"):
        assert name in res.stdout


def test_calc_egfr_json_on_stdout() -> None:
    res = run_script(
        "calc",
        "egfr",
        "--creatinine",
        "1.0",
        "--unit",
        "mg/dL",
        "--age",
        "50",
        "--sex",
        "female",
        "--json",
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["ckd_stage"] in {"G1", "G2"}
    assert res.stderr == ""


def test_refusal_exits_1_on_stderr() -> None:
    res = run_script(
        "calc", "egfr", "--creatinine", "1.0", "--unit", "g/L", "--age", "50", "--sex", "female"
    )
    assert res.returncode == 1
    assert res.stdout == ""
    assert res.stderr.startswith("refused: unit:")


def test_usage_error_exits_2() -> None:
    res = run_script("calc", "egfr", "--no-such-option")
    assert res.returncode == 2
    assert "No such option" in res.stderr
