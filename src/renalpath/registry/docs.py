"""The data dictionary rendered for people and for REDCap.

Markdown for the documentation, a flat CSV (one row per column), and a REDCap data-dictionary
CSV with REDCap's 18 fixed columns, so a site can build the same project in REDCap or migrate.
Each registry file becomes a REDCap form (repeating in REDCap terms, except `patients`).
"""

from __future__ import annotations

import csv
import io

from renalpath.registry.dictionary import FILES, ColumnSpec

REDCAP_COLUMNS = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)


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
    w.writerow(["file", "column", "type", "unit", "required", "allowed", "references",
                "description"])  # fmt: skip
    for spec in FILES.values():
        for c in spec.columns:
            w.writerow([spec.filename, c.name, c.type, c.unit or "", "true" if c.required else
                        "false", _allowed(c), c.references or "", c.description])  # fmt: skip
    return buf.getvalue()


def _redcap_field(form: str, c: ColumnSpec) -> list[str]:
    field_type, choices, validation = "text", "", ""
    if c.enum:
        field_type = "dropdown"
        choices = " | ".join(f"{v}, {v}" for v in c.enum)
    elif c.type == "bool":
        field_type, choices = "dropdown", "true, true | false, false"
    elif c.type == "date":
        validation = "date_ymd"
    elif c.type == "int":
        validation = "integer"
    elif c.type == "float":
        validation = "number"
    if c.phi == "free_text":  # typed prose (dictionary tag)
        field_type = "notes"
    low = "" if c.min is None or c.type not in ("int", "float") else f"{c.min:g}"
    high = "" if c.max is None or c.type not in ("int", "float") else f"{c.max:g}"
    label = c.description + (f" ({c.unit})" if c.unit else "")
    identifier = "y" if c.name in ("birth_date", "death_date") else ""
    return [
        c.name,
        form,
        "",
        field_type,
        label,
        choices,
        c.unit or "",
        validation,
        low,
        high,
        identifier,
        "",
        "y" if c.required else "",
        "",
        "",
        "",
        "",
        f"@renalpath file={form}.csv",
    ]


def redcap_csv() -> str:
    """REDCap requires unique variable names project-wide and the record id first: shared
    column names (date, type, …) are prefixed with their form, except `patient_id` (record id)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(REDCAP_COLUMNS)
    seen: set[str] = set()
    for spec in FILES.values():
        for c in spec.columns:
            row = _redcap_field(spec.name, c)
            name = c.name
            if name == "patient_id" and spec.name != "patients":
                continue  # the record id is on the first form only
            if name in seen:
                name = f"{spec.name}_{name}"
            seen.add(name)
            row[0] = name
            w.writerow(row)
    return buf.getvalue()


def render(fmt: str) -> str:
    return {"md": markdown, "csv": flat_csv, "redcap": redcap_csv}[fmt]()
