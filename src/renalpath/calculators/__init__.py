"""The calculator catalogue: every clinical calculator's inputs, computation and spec, once.

Why a catalogue: the command line (`renalpath calc NAME`), the REST API (`/api/v1/calc/NAME`)
and the web pages all offer the same calculators. Each calculator is declared here exactly
once — a request model (field names, types, closed choices, help text), a compute function
and the clinical spec — and both the Typer commands and the FastAPI routes are generated from
it, so an input cannot be renamed, re-described or re-validated differently in one front end.
The clinical modules (`renalpath.clinical`) stay the single owners of every range and formula.

The catalogue is split by calculator (or a small family sharing inputs) so that running one
calculator imports only its own clinical modules (the command line starts fast); `OWNERS`
names the module of each calculator.
"""

from __future__ import annotations

import importlib

from renalpath.calculators.base import Calculator

__all__ = ["OWNERS", "Calculator", "all_calculators", "get"]

# Calculator name → the catalogue module declaring it, in the order the front ends list them.
OWNERS: dict[str, str] = {
    "egfr": "egfr",
    "renal": "nephrometry",
    "padua": "nephrometry",
    "tnm": "tnm",
    "growth": "growth",
    "leibovich": "pathology",
    "ssign": "pathology",
    "imdc": "risk",
    "mskcc": "risk",
    "calcium": "risk",
    "clavien": "clavien",
    "mirels": "mirels",
}


def get(name: str) -> Calculator:
    """The calculator NAME (KeyError if there is none), importing only its own area."""
    module = importlib.import_module(f"renalpath.calculators.{OWNERS[name]}")
    table: dict[str, Calculator] = module.CALCULATORS
    return table[name]


def all_calculators() -> dict[str, Calculator]:
    """Every calculator by name, in `OWNERS` order."""
    return {name: get(name) for name in OWNERS}
