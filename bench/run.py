"""`make bench`: run every bench/bench_*.py module's `main()` with one shared baseline."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import baseline  # noqa: E402


def run(selected: list[str]) -> None:
    print(f"baseline measured: {baseline() * 1000:.3f} ms")
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem
        if selected and name.removeprefix("bench_") not in selected:
            continue
        print(f"\n== {name}")
        importlib.import_module(name).main()


if __name__ == "__main__":
    run(sys.argv[1:])
