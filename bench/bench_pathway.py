"""Pathway engine speed: one case in-process (target median ≤ 1 ms) and a batch on one core
(target ≥ 10,000 cases/s).  Packs are loaded once before timing, as in a real process."""

from __future__ import annotations

import json
import time
from pathlib import Path

from harness import Figure, measure, report

from renalpath.pathway import recommend, recommend_many
from renalpath.pathway.loader import load_packs

CASES = Path(__file__).resolve().parents[1] / "tests" / "pathway" / "cases"


def main() -> None:
    load_packs()
    vignettes = [json.loads(p.read_text()) for p in sorted(CASES.glob("v*.json"))]
    one = json.loads((CASES / "v10_m1_good_ps_no_systemic.json").read_text())
    recommend(one)
    single = measure(lambda: recommend(one), repeat=501)
    batch = vignettes * max(1, 5000 // len(vignettes))
    start = time.perf_counter()
    recommend_many(batch)
    elapsed = time.perf_counter() - start
    report(
        [
            Figure("pathway: one case (V10), median", single),
            Figure(
                f"pathway: batch of {len(batch)} vignette cases",
                elapsed,
                "cases/s",
                len(batch) / elapsed,
            ),
        ]
    )


if __name__ == "__main__":
    main()
