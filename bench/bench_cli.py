"""CLI start time: `renalpath --help` and `renalpath calc egfr … --json`, against `python -c pass`.

Each command is run as a fresh process (the console script's own code path: `renalpath.cli.main`
under the current interpreter), interleaved with `python -c pass` so that both see the same
machine load; the figure to compare across runs is the ratio of the medians. Target: under
0.3 s wall on the 2-core development machine.
"""

from __future__ import annotations

import os
import resource
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


def _run(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds user+system) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=dict(os.environ))
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure_start(runs: int = RUNS) -> dict[str, tuple[float, float, float, float]]:
    """Label → median (wall, CPU) of the command, then of `python -c pass`, in seconds.

    CPU time is reported beside wall time because on a shared machine the wall time of a short
    process is mostly waiting for a core; the ratio to `python -c pass` corrects for both.
    """
    out: dict[str, tuple[float, float, float, float]] = {}
    for label, args in COMMANDS.items():
        cmd, empty = [], []
        for _ in range(runs):
            empty.append(_run([sys.executable, "-c", "pass"]))
            cmd.append(_run([sys.executable, "-c", MAIN, *args]))
        out[label] = (
            statistics.median(w for w, _ in cmd),
            statistics.median(c for _, c in cmd),
            statistics.median(w for w, _ in empty),
            statistics.median(c for _, c in empty),
        )
    return out


def main() -> None:
    print(f"{'command':<30} {'wall':>8} {'cpu':>8} {'pass wall':>10} {'pass cpu':>9} {'ratio':>6}")
    for label, (wall, cpu, p_wall, p_cpu) in measure_start().items():
        print(
            f"{label:<30} {wall * 1000:5.0f} ms {cpu * 1000:5.0f} ms {p_wall * 1000:7.0f} ms "
            f"{p_cpu * 1000:6.0f} ms {wall / p_wall:5.1f}×"
        )


if __name__ == "__main__":
    main()
