"""Build hook: optionally compile the pathway engine's hot modules with mypyc.

Why: a registry audit runs the pathway on every case, and the target is ≥ 10,000 cases/s
on one core.  As plain Python the engine does that only on a quiet machine; compiled with
mypyc (part of mypy, from the same type-checked source) it runs ≈ 1.7× faster and gives the
same results byte for byte (bench/RESULTS.md, round 6; tests/pathway/test_native.py).

Opt-in with RENALPATH_NATIVE=1, because mypyc type-checks the modules with the project's
mypy settings and so needs the installed dependencies (pydantic and its mypy plugin): `make
install` does it after installing them (`setup.py build_ext --inplace`).  Without it, or
where no C compiler is available, the same modules run as plain Python.

The digest of each compiled source goes to `_native.json` beside the modules, so that a
compiled module left behind after its source changed is never used (renalpath/pathway/
_native.py falls back to the source and warns).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from setuptools import setup

PACKAGE = Path("src", "renalpath", "pathway")
NATIVE_MODULES = ("conditions", "derive", "merge", "plan", "evaluate", "settle", "safety", "choice")


def _ext_modules() -> list[Any]:
    if os.environ.get("RENALPATH_NATIVE") != "1":
        return []
    from mypyc.build import mypycify

    sources = [PACKAGE / f"{name}.py" for name in NATIVE_MODULES]
    digests = {p.stem: hashlib.sha256(p.read_bytes()).hexdigest() for p in sources}
    (PACKAGE / "_native.json").write_text(json.dumps(digests, indent=1) + "\n")
    return list(mypycify([str(p) for p in sources], opt_level="3", group_name="renalpath_native"))


setup(ext_modules=_ext_modules())
