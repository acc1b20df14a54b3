"""eGFR throughput: validated scalar calls vs the numpy form used for registry recomputation."""

from __future__ import annotations

import numpy as np
from harness import Figure, measure, report

from renalpath.clinical.egfr import EQUATIONS, egfr, egfr_array

SCALAR_CALLS = 10_000
VECTOR_ROWS = 1_000_000


def main() -> None:
    rng = np.random.default_rng(20261122)
    scr = rng.uniform(0.4, 10.0, VECTOR_ROWS)
    age = rng.uniform(18.0, 95.0, VECTOR_ROWS)
    female = rng.random(VECTOR_ROWS) < 0.5
    black = rng.random(VECTOR_ROWS) < 0.1
    scalar_inputs = [
        (float(scr[i]), float(age[i]), "female" if female[i] else "male")
        for i in range(SCALAR_CALLS)
    ]

    figures: list[Figure] = []
    for eq in EQUATIONS:

        def scalar_run(eq: str = eq) -> None:
            for c, a, s in scalar_inputs:
                egfr(c, "mg/dL", a, s, eq)

        # One validated call per case; timing the whole batch keeps the baseline ratio readable.
        seconds = measure(scalar_run, repeat=3)
        figures.append(
            Figure(
                f"egfr() scalar {eq} ×{SCALAR_CALLS:,} calls",
                seconds,
                "cases/s",
                SCALAR_CALLS / seconds,
            )
        )
    for eq in EQUATIONS:

        def vector_run(eq: str = eq) -> None:
            egfr_array(scr, age, female, eq, black)

        seconds = measure(vector_run, repeat=5)
        figures.append(
            Figure(f"egfr_array {eq} ×{VECTOR_ROWS:,}", seconds, "cases/s", VECTOR_ROWS / seconds)
        )
    report(figures)


if __name__ == "__main__":
    main()
