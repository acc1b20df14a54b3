"""Whether the pathway engine runs compiled (mypyc), and never from an out-of-date build.

Why this exists: `make install` compiles the engine's hot modules with mypyc (setup.py) into
extension modules beside their sources, and Python prefers an extension module to a `.py`
of the same name.  In a checkout someone edits, an extension built from an earlier version
of a module would then silently shadow the edited source: tests and users would run old
clinical logic.  So at import, the source of every compiled module is checked against the
digest recorded when it was built (`_native.json`); if any differs, all of them are run from
source (compiled modules call each other directly, so they cannot be mixed) and a warning
says how to rebuild.  RENALPATH_PURE_PYTHON=1 runs the source on purpose (the equivalence
test compares the two).
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

# Kept in step with setup.py (NATIVE_MODULES), which builds them.
NATIVE_MODULES = ("conditions", "derive", "merge", "plan", "evaluate", "settle", "safety", "choice")
_PACKAGE = __name__.rpartition(".")[0]
_HERE = Path(__file__).parent
_DIGESTS = _HERE / "_native.json"


@dataclass(frozen=True)
class NativeStatus:
    """What was found at import: the modules running compiled, and why others do not."""

    compiled: tuple[str, ...]
    built: tuple[str, ...]  # modules with an extension on disk
    stale: tuple[str, ...]  # of those, the ones whose source changed since the build
    forced_source: bool  # RENALPATH_PURE_PYTHON=1


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Imports the listed modules from their `.py`, whatever extension sits beside them."""

    def __init__(self, names: Sequence[str]) -> None:
        self.paths = {f"{_PACKAGE}.{n}": _HERE / f"{n}.py" for n in names}

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        source = self.paths.get(fullname)
        return None if source is None else importlib.util.spec_from_file_location(fullname, source)


def _extension(name: str) -> Path | None:
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = _HERE / f"{name}{suffix}"
        if candidate.exists():
            return candidate
    return None


def _recorded_digests() -> dict[str, str]:
    try:
        data = json.loads(_DIGESTS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _digest(name: str) -> str:
    return hashlib.sha256((_HERE / f"{name}.py").read_bytes()).hexdigest()


def select() -> NativeStatus:
    """Decide, before any engine module is imported, whether the compiled ones may be used."""
    built = tuple(n for n in NATIVE_MODULES if _extension(n) is not None)
    forced = os.environ.get("RENALPATH_PURE_PYTHON") == "1"
    if not built:
        return NativeStatus((), (), (), forced)
    recorded = _recorded_digests()
    stale = tuple(n for n in built if recorded.get(n) != _digest(n))
    if forced or stale or len(built) != len(NATIVE_MODULES):
        sys.meta_path.insert(0, _SourceFirst(NATIVE_MODULES))
        if not forced:
            why = (
                f"changed since it was compiled: {', '.join(stale)}"
                if stale
                else f"only partly compiled ({', '.join(built)})"
            )
            warnings.warn(
                f"renalpath: the compiled pathway engine is out of date ({why}); running "
                "the source instead, which is slower. Rebuild with `make install`.",
                RuntimeWarning,
                stacklevel=2,
            )
        return NativeStatus((), built, stale, forced)
    return NativeStatus(built, built, (), forced)


STATUS = select()
