"""The software-versions block: what produced the numbers and what drew the report.

A reader reproducing a study needs the analysis libraries (named in the methods text by the
outcomes layer) and the rendering ones (a plot or table can change with matplotlib, Jinja2 or
WeasyPrint), so both are listed.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from importlib import metadata

ANALYSIS_PACKAGES: tuple[str, ...] = (
    "renalpath",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "lifelines",
    "tableone",
)
REPORT_PACKAGES: tuple[str, ...] = ("jinja2", "matplotlib", "weasyprint", "pydyf")


def installed_version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def software_versions(analysis: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(name, version) rows: Python, analysis packages, report packages.

    `analysis` is the study's own `software` block; its versions win over the installed ones,
    because they are what actually computed the numbers (the JSON may come from another run).
    """
    given = {str(k).lower(): str(v) for k, v in (analysis or {}).items()}
    rows = [("Python", given.pop("python", platform.python_version()))]
    for dist in ANALYSIS_PACKAGES:
        rows.append((dist, given.pop(dist, installed_version(dist))))
    rows.extend(sorted(given.items()))  # anything else the study recorded
    rows.extend((dist, installed_version(dist)) for dist in REPORT_PACKAGES)
    return rows
