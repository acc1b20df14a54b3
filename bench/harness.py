"""Tiny benchmark harness: every figure is printed next to a baseline measured in the same run.

Machines here are noisy, so absolute seconds mean little; the ratio to a fixed pure-Python
workload timed moments earlier on the same machine is what we compare across runs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


def _baseline_workload() -> int:
    total = 0
    for i in range(200_000):
        total += i * i % 7
    return total


def measure(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of `repeat` calls, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


_BASELINE: list[float] = []


def baseline() -> float:
    """Seconds for the baseline workload (measured once per run, median of 7)."""
    if not _BASELINE:
        _BASELINE.append(measure(_baseline_workload, repeat=7))
    return _BASELINE[0]


@dataclass
class Figure:
    name: str
    seconds: float
    unit_label: str = ""
    per_unit: float | None = None  # e.g. cases/s

    def line(self) -> str:
        ratio = self.seconds / baseline()
        extra = f"  {self.per_unit:,.0f} {self.unit_label}" if self.per_unit is not None else ""
        return f"{self.name:<48} {self.seconds * 1000:10.3f} ms  {ratio:8.2f}× baseline{extra}"


def report(figures: list[Figure]) -> None:
    label = "baseline (200k-iteration Python loop)"
    print(f"{label:<48} {baseline() * 1000:10.3f} ms      1.00× baseline")
    for fig in figures:
        print(fig.line())
