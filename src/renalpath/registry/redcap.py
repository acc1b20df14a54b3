"""REDCap both ways — the project: forms, field names, choices and the data dictionary.

Everything here is generated from the registry data dictionary (`registry.dictionary.FILES`),
table by table and column by column, so a table added there becomes a REDCap form, an export
column and an import column without a change here. The records themselves (export, import)
are `registry.redcap_records`; this module stays free of pandas and SQLAlchemy so that
`renalpath dictionary` stays light.

- One form (REDCap "instrument") per registry table, named like the table. The first table
  (`patients`) is the record form: its key `patient_id` is the REDCap record id (the first
  field of the first form). Every other table is a *repeating instrument*: one instance per
  row, numbered 1, 2, … within the record (the patient).
- Field names: the record form's columns keep their names; a column of a repeating form is
  `<prefix>_<column>` (`tum_side`, `iv_date`, `comp_clavien_dindo`), so names are unique in
  the project and none changes when a table is added. A child table's `patient_id` is not a
  field: the record id says whose row it is. REDCap's rules (lower-case letters, digits and
  underscores, starting with a letter; 26 characters or fewer recommended) are checked by the
  tests for every field, so a new table whose names break them is caught, not shipped.
- Field labels are the first clause of the column's description (with its unit); the rest of
  the description is the field note. A label used twice names its form, so labels can stand
  for the fields in a labelled export.
- Field types: booleans are `yesno` (REDCap stores 1 = yes, 0 = no); enumerations are
  `dropdown` with raw codes of lower-case letters, digits and underscores (`t1a`, `iiia_d`,
  `lt` for "<") and clinical labels ("Partial nephrectomy", "IIIa-d", "Ultrasound");
  Clavien–Dindo grades include the "-d" suffix (disability at discharge) except for grade V;
  dates are text with `date_ymd` validation, numbers `integer` / `number` with the
  dictionary's plausibility limits; free text is `notes`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from dataclasses import dataclass

from renalpath.clinical.clavien_dindo import DISABILITY_SUFFIX, parse_grade
from renalpath.clinical.common import ClinicalInputError
from renalpath.registry.dictionary import FILES, ColumnSpec, FileSpec

# --- the project ---------------------------------------------------------------------------

RECORD_FORM: str = next(iter(FILES))  # "patients": the one non-repeating form
RECORD_ID: str = FILES[RECORD_FORM].key[0]  # "patient_id": REDCap's record id
REPEAT_INSTRUMENT = "redcap_repeat_instrument"
REPEAT_INSTANCE = "redcap_repeat_instance"
SYSTEM_COLUMNS = (REPEAT_INSTRUMENT, REPEAT_INSTANCE)
MAX_NAME_LENGTH = 26  # REDCap's recommended maximum for a variable name
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*[a-z0-9]")  # lower case, starts with a letter

RECORDS_FILE = "redcap_records.csv"
DICTIONARY_FILE = "redcap_data_dictionary.csv"

# REDCap's 18 data-dictionary columns, in order.
DICTIONARY_COLUMNS = (
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

# Short field-name prefixes of the repeating forms (names stay within 26 characters). A table
# not listed gets one from its name (`form_prefix`); the tests check every name.
_PREFIXES: dict[str, str] = {
    "tumours": "tum",
    "imaging": "img",
    "interventions": "iv",
    "pathology": "path",
    "complications": "comp",
    "labs": "lab",
    "events": "evt",
    "staging": "stg",
    "performance": "perf",
    "disease_status": "ds",
    "metastases": "met",
    "systemic_therapy": "sys",
    "radiotherapy": "rt",
}

# Choice labels: clinical words for codes whose readable form (underscores to spaces, first
# letter capital) is not enough. Per column first, then for the value in any column.
_LABELS_BY_COLUMN: dict[str, dict[str, str]] = {
    "renal_ap": {"a": "Anterior", "p": "Posterior", "x": "Neither anterior nor posterior"},
    "padua_face": {"a": "Anterior", "p": "Posterior"},
    "renal_polar": {
        "outside": "Outside the polar lines",
        "crosses": "Crosses a polar line",
        "central": "Central",
    },
    "classification": {
        "c": "Clinical (c)",
        "p": "Pathological (p)",
        "yc": "Clinical, after neoadjuvant therapy (yc)",
        "yp": "Pathological, after neoadjuvant therapy (yp)",
        "rc": "Clinical, at recurrence (rc)",
        "rp": "Pathological, at recurrence (rp)",
    },
    "tnm_prefix": {
        "y": "During or after initial multimodality therapy (y)",
        "r": "Recurrence after a disease-free interval (r)",
        "a": "At autopsy (a)",
        "yr": "Recurrence, after multimodality therapy (yr)",
    },
    "conversion": {
        "none": "None",
        "open": "Converted to open surgery",
        "radical": "Converted to radical nephrectomy",
    },
}
_LABELS: dict[str, str] = {
    "clear_cell": "Clear cell RCC",
    "papillary": "Papillary RCC",
    "chromophobe": "Chromophobe RCC",
    "unknown": "Not known",
    "not_applicable": "Not applicable",
    "rcc": "Kidney cancer (RCC)",
    "ct": "CT",
    "mri": "MRI",
    "us": "Ultrasound",
    "egfr": "eGFR",
    "ldh": "LDH",
    "hemoglobin": "Haemoglobin",
    "dialysis_start": "Dialysis started",
    "dialysis_end": "Dialysis ended",
    "last_followup": "Last follow-up",
    "brachytherapy_hdr": "Brachytherapy, high dose rate (HDR)",
    "brachytherapy_ldr": "Brachytherapy, low dose rate (LDR)",
    "<": "Less than (<)",
    "<=": "At most (≤)",
    ">": "More than (>)",
    ">=": "At least (≥)",
}
_SYMBOL_CODES = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
YES, NO = "1", "0"  # REDCap's yesno codes


def repeating(table: str) -> bool:
    return table != RECORD_FORM


def readable(code: str) -> str:
    """`partial_nephrectomy` → "Partial nephrectomy" (a code is never shown raw)."""
    text = code.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def form_prefix(table: str) -> str:
    """Field-name prefix of a repeating form: listed, else the initials of a several-word
    name (`body_sites` → `bs`), else the first four letters of the name."""
    if table in _PREFIXES:
        return _PREFIXES[table]
    words = [w for w in table.split("_") if w]
    if len(words) > 1:
        return "".join(w[0] for w in words)
    return table[:4]


def form_label(spec: FileSpec) -> str:
    return spec.form_label or readable(spec.name)


def field_name(table: str, column: str) -> str:
    """The REDCap variable name of a registry column."""
    if not repeating(table) or column == RECORD_ID:
        return column
    return f"{form_prefix(table)}_{column}"


def form_columns(spec: FileSpec) -> tuple[ColumnSpec, ...]:
    """The columns of `spec` that are REDCap fields (a child table's `patient_id` is the
    record id, not a field of its form)."""
    if not repeating(spec.name):
        return spec.columns
    return tuple(c for c in spec.columns if c.name != RECORD_ID)


def choice_values(col: ColumnSpec) -> tuple[str, ...]:
    """Every value a coded column can hold: its enumeration, and for Clavien–Dindo grades
    each grade with the "-d" suffix too where the grading allows it (not grade V)."""
    assert col.enum is not None
    if col.name != "clavien_dindo":
        return col.enum
    out: list[str] = []
    for grade in col.enum:
        out.append(grade)
        try:
            parse_grade(grade + DISABILITY_SUFFIX)
        except ClinicalInputError:
            continue
        out.append(grade + DISABILITY_SUFFIX)
    return tuple(out)


def choice_code(value: str) -> str:
    """The raw REDCap code of a registry value: lower-case letters, digits, underscores."""
    if value in _SYMBOL_CODES:
        return _SYMBOL_CODES[value]
    return re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")


def choice_label(col: ColumnSpec, value: str) -> str:
    per_column = _LABELS_BY_COLUMN.get(col.name, {})
    return per_column.get(value) or _LABELS.get(value) or readable(value)


@dataclass(frozen=True)
class Choice:
    code: str
    label: str
    value: str  # as the registry stores it


def choices(col: ColumnSpec) -> tuple[Choice, ...]:
    """The dropdown choices of a coded column (booleans: REDCap's own yes/no)."""
    if col.type == "bool":
        return (Choice(YES, "Yes", "true"), Choice(NO, "No", "false"))
    if col.enum is None:
        return ()
    return tuple(Choice(choice_code(v), choice_label(col, v), v) for v in choice_values(col))


def _split_description(text: str) -> tuple[str, str]:
    """First clause of a description (up to "; " or ". " outside brackets) and the rest."""
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(depth - 1, 0)
        elif depth == 0 and ch in ";." and text[i + 1 : i + 2] == " ":
            return text[:i].strip(), text[i + 2 :].strip()
    return text.rstrip(".").strip(), ""


@dataclass(frozen=True)
class Field:
    """One REDCap field: a registry column on its form."""

    table: str
    column: ColumnSpec
    name: str
    label: str
    note: str

    @property
    def form(self) -> str:
        return self.table


def _fields() -> tuple[Field, ...]:
    draft: list[Field] = []
    for spec in FILES.values():
        for col in form_columns(spec):
            label, rest = _split_description(col.description)
            label = label or readable(col.name)
            if col.unit and not re.search(rf"\b{re.escape(col.unit)}\b", label, re.IGNORECASE):
                label += f" ({col.unit})"
            note = rest[:1].upper() + rest[1:]
            draft.append(Field(spec.name, col, field_name(spec.name, col.name), label, note))
    counts: dict[str, int] = {}
    for f in draft:
        counts[f.label.lower()] = counts.get(f.label.lower(), 0) + 1
    # Labels double as headers of a labelled export: a label used twice names its form.
    return tuple(
        dataclasses.replace(f, label=f"{f.label} ({form_label(FILES[f.table])})")
        if counts[f.label.lower()] > 1
        else f
        for f in draft
    )


FIELDS: tuple[Field, ...] = _fields()


# --- the data dictionary -------------------------------------------------------------------


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def dictionary_rows() -> list[list[str]]:
    """The REDCap data dictionary: one row per field, the record id first."""
    rows: list[list[str]] = []
    for f in FIELDS:
        col = f.column
        field_type, validation, low, high = "text", "", "", ""
        if col.type == "bool":
            field_type = "yesno"
        elif col.enum is not None:
            field_type = "dropdown"
        elif col.type == "date":
            validation = "date_ymd"
        elif col.type in ("int", "float"):
            validation = "integer" if col.type == "int" else "number"
            low, high = _number(col.min), _number(col.max)
        elif col.phi == "free_text":
            field_type = "notes"
        listed = " | ".join(f"{c.code}, {c.label}" for c in choices(col)) if col.enum else ""
        # Identifiers: dates of birth and death, and ids chosen by the site (they often embed
        # a hospital number) — REDCap leaves them out of a de-identified export. The record
        # id itself is hashed by REDCap's own export option instead.
        identifier = col.name in ("birth_date", "death_date") or (
            col.phi == "record_id" and f.name != RECORD_ID
        )
        rows.append(
            [
                f.name,
                f.form,
                "",
                field_type,
                f.label,
                listed,
                f.note,
                validation,
                low,
                high,
                "y" if identifier else "",
                "",
                "y" if col.required else "",
                "",
                "",
                "",
                "",
                f"renalpath {FILES[f.table].filename} column {col.name}",
            ]
        )
    return rows


def dictionary_csv() -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(DICTIONARY_COLUMNS)
    writer.writerows(dictionary_rows())
    return buf.getvalue()


def record_header() -> list[str]:
    """The columns of a records file: record id, the two repeat columns, every field."""
    return [RECORD_ID, *SYSTEM_COLUMNS, *(f.name for f in FIELDS if f.name != RECORD_ID)]
