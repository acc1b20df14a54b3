"""The data dictionary rendered for people and for REDCap.

Markdown for the documentation, a flat CSV (one row per column), and a REDCap data-dictionary
CSV with REDCap's 18 fixed columns (`registry.redcap`), so a site can build the same project
in REDCap, keep its data there and move records both ways. Each registry file becomes a REDCap
form (a repeating instrument, except `patients`).
"""

from __future__ import annotations

import csv
import io

from renalpath.registry.dictionary import FILES, ColumnSpec
from renalpath.registry.redcap import DICTIONARY_COLUMNS, dictionary_csv

REDCAP_COLUMNS = DICTIONARY_COLUMNS


def _allowed(col: ColumnSpec) -> str:
    if col.enum:
        return " | ".join(col.enum)
    if col.type == "bool":
        return "true | false"
    if col.min is not None or col.max is not None:
        return f"{col.min:g}–{col.max:g}" if col.min is not None and col.max is not None else ""
    return ""


def markdown() -> str:
    out = ["# renalpath registry data dictionary", ""]
    out.append("CSV files, UTF-8, header row; dates YYYY-MM-DD; blank = missing; * = required.")
    for spec in FILES.values():
        out += ["", f"## {spec.filename}", "", spec.description, ""]
        out.append("| column | type | unit | allowed | required | description |")
        out.append("|---|---|---|---|---|---|")
        for c in spec.columns:
            out.append(
                f"| {c.name} | {c.type} | {c.unit or ''} | {_allowed(c).replace(' | ', ', ')} | "
                f"{'*' if c.required else ''} | {c.description} |"
            )
    return "\n".join(out) + "\n"


def flat_csv() -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        ["file", "column", "type", "unit", "required", "allowed", "references", "description"]
    )
    for spec in FILES.values():
        for c in spec.columns:
            w.writerow(
                [
                    spec.filename,
                    c.name,
                    c.type,
                    c.unit or "",
                    "true" if c.required else "false",
                    _allowed(c),
                    c.references or "",
                    c.description,
                ]
            )
    return buf.getvalue()


def redcap_csv() -> str:
    """The REDCap data dictionary (`registry.redcap`: one form per table, repeating forms for
    the one-to-many tables, yes/no and dropdown fields with clinical labels)."""
    return dictionary_csv()


def render(fmt: str) -> str:
    return {"md": markdown, "csv": flat_csv, "redcap": redcap_csv}[fmt]()
