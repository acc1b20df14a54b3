"""The names the studies accept — survival endpoints and grouping fields — without the analyses.

Why a module of its own: `renalpath study --help` and the web's study forms list these, and
the CLI's help must not import pandas, SciPy or lifelines (tests/test_cli_lazy.py). The
analyses (`outcomes.endpoints`, `outcomes.survival_by_group`) take them from here.
"""

from __future__ import annotations

# Survival endpoints (definitions: outcomes.endpoints and docs/data-model.md).
ENDPOINTS: tuple[str, ...] = ("overall", "recurrence-free", "cancer-specific")

# `--by` choices of the survival study → the analysis column that defines the groups.
BY_FIELDS: dict[str, str] = {
    "type": "type",
    "procedure": "type",
    "approach": "approach",
    "intent": "intent_effective",
    "sex": "sex",
    "side": "side",
    "ct": "ct",
    "histology": "histology",
    "pt": "pt",
    "pt_group": "pt_group",
    "margin": "margin",
    "isup_grade": "isup_grade",
    "solitary_kidney": "solitary_kidney",
}
