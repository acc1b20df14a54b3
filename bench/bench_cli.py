"""CLI start time: `renalpath --help` and `renalpath calc egfr … --json`, against `python -c pass`.

Each command is run as a fresh process (the console script's own code path: `renalpath.cli.main`
under the current interpreter), interleaved with `python -c pass` so that both see the same
machine load; the figure to compare across runs is the ratio of the medians. Target: under
0.3 s wall on the 2-core development machine.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

RUNS = 7
MAIN = "import sys; from renalpath.cli import main; sys.argv[0] = 'renalpath'; sys.exit(main())"
COMMANDS: dict[str, list[str]] = {
    "renalpath --help": ["--help"],
    "renalpath calc egfr … --json": (
        [
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
        ]
    ),
    "renalpath schema case": ["schema", "case"],
}


def _wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=dict(os.environ))
    return time.perf_counter() - start


def measure_start(runs: int = RUNS) -> dict[str, tuple[float, float]]:
    """Label → (median seconds of the command, median seconds of `python -c pass`)."""
    out: dict[str, tuple[float, float]] = {}
    for label, args in COMMANDS.items():
        cmd, empty = [], []
        for _ in range(runs):
            empty.append(_wall([sys.executable, "-c", "pass"]))
            cmd.append(_wall([sys.executable, "-c", MAIN, *args]))
        out[label] = (statistics.median(cmd), statistics.median(empty))
    return out


def main() -> None:
    print(f"{'command':<32} {'wall':>9} {'python -c pass':>15} {'ratio':>7}")
    for label, (cmd, empty) in measure_start().items():
        print(f"{label:<32} {cmd * 1000:7.0f} ms {empty * 1000:12.0f} ms {cmd / empty:6.1f}×")


if __name__ == "__main__":
    main()
