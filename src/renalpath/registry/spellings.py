"""Accepted spellings of registry cells, as data: what the importer normalises, per column.

The data dictionary (`registry.dictionary`) says what a cell *means*; this table says which
other ways of writing the same thing a hospital export may use. `registry.normalise` applies
it in one place for imports and single-record writes; every rewrite is counted and reported
as a warning (file, column, written → stored, number of rows), so nothing changes silently.

Only spellings whose meaning is unambiguous are listed. What could mean two things (a date
like 07.03.2019, an AJCC 7 category, a creatinine clearance in an eGFR column) is refused by
the normaliser with the fix in the message, never guessed.

Keys are compared after `spelling_key`: lower case, surrounding blanks dropped, runs of
blanks, hyphens and underscores read as one blank.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from renalpath.registry import vocab
from renalpath.registry.dictionary import TNM_PREFIXES

_SEPARATORS = re.compile(r"[\s_\-]+")


def spelling_key(text: str) -> str:
    """The form in which synonyms are compared ("Clear-Cell  RCC" → "clear cell rcc")."""
    return _SEPARATORS.sub(" ", text.strip().lower()).strip()


# Cells that mean "not recorded" in exports from spreadsheets, statistics packages and
# hospital systems. Blank in an optional column (a warning says how many); refused in a
# required one. Where a word is itself an allowed value (e.g. histology "unknown"), the
# column's own value wins. Replaceable with `--missing` on the command line.
MISSING_VALUES: tuple[str, ...] = (
    "na",
    "n/a",
    "n.a.",
    "nan",
    "null",
    "none",
    "unknown",
    "unk",
    "missing",
    ".",
    "-",
    "?",
    "#n/a",
    "nd",
    "not recorded",
    "not known",
)

BOOLEANS: dict[str, str] = {
    "true": "true",
    "t": "true",
    "yes": "true",
    "y": "true",
    "1": "true",
    "1.0": "true",
    "false": "false",
    "f": "false",
    "no": "false",
    "n": "false",
    "0": "false",
    "0.0": "false",
}

# Enumeration synonyms per column name (the canonical values themselves are matched in any
# case without being listed). A column missing here accepts only its canonical values.
ENUM_SYNONYMS: dict[str, dict[str, str]] = {
    "sex": {"m": "male", "man": "male", "f": "female", "woman": "female"},
    "side": {"l": "left", "lt": "left", "r": "right", "rt": "right"},
    "histology": {
        "ccrcc": "clear_cell",
        "clear cell": "clear_cell",
        "clear cell rcc": "clear_cell",
        "clear cell renal cell carcinoma": "clear_cell",
        "clear cell carcinoma": "clear_cell",
        "prcc": "papillary",
        "papillary rcc": "papillary",
        "papillary renal cell carcinoma": "papillary",
        "chrcc": "chromophobe",
        "chromophobe rcc": "chromophobe",
        "chromophobe renal cell carcinoma": "chromophobe",
        "renal oncocytoma": "oncocytoma",
        "aml": "angiomyolipoma",
    },
    "modality": {"computed tomography": "ct", "mr": "mri", "ultrasound": "us"},
    "site": {
        "bones": "bone",
        "osseous": "bone",
        "vertebra": "spine",
        "vertebral": "spine",
        "lungs": "lung",
        "pulmonary": "lung",
        "hepatic": "liver",
        "lymph nodes": "lymph_node",
        "nodal": "lymph_node",
        "adrenal gland": "adrenal",
        "cerebral": "brain",
    },
    "approach": {
        "lap": "laparoscopic",
        "lps": "laparoscopic",
        "robot": "robotic",
        "robot assisted": "robotic",
    },
}

# Histology: earlier names of the WHO 2022 subtypes, common abbreviations, the WHO 2022 names
# and every ICD-O-3 code that names exactly one subtype (`registry/codes/histology.csv`).
ENUM_SYNONYMS["histology"].update(
    {
        "clear cell papillary rcc": "clear_cell_papillary",
        "clear cell papillary renal cell carcinoma": "clear_cell_papillary",
        "ccprcc": "clear_cell_papillary",
        "ccprct": "clear_cell_papillary",
        "cdc": "collecting_duct",
        "collecting duct rcc": "collecting_duct",
        "carcinoma of the collecting ducts of bellini": "collecting_duct",
        "fh deficient rcc": "fh_deficient",
        "hlrcc associated rcc": "fh_deficient",
        (
            "hereditary leiomyomatosis and renal cell carcinoma associated renal cell carcinoma"
        ): "fh_deficient",
        "sdh deficient rcc": "sdh_deficient",
        "tfe3 rearranged rcc": "tfe3_rearranged",
        "xp11 translocation rcc": "tfe3_rearranged",
        "xp11 translocation renal cell carcinoma": "tfe3_rearranged",
        "renal medullary carcinoma": "medullary",
        "rmc": "medullary",
        "mtscc": "mucinous_tubular_spindle",
        "tubulocystic rcc": "tubulocystic",
        "acd rcc": "acquired_cystic_disease",
        "rcc nos": "unclassified",
        "renal cell carcinoma nos": "unclassified",
        "unclassified rcc": "unclassified",
        "renal cell carcinoma unclassified": "unclassified",
    }
)
for _h in vocab.histologies().values():
    if _h.who_name:
        ENUM_SYNONYMS["histology"][spelling_key(_h.who_name)] = _h.name
# ICD-O-3 codes naming several WHO 2022 subtypes: refused with the subtypes to choose from.
AMBIGUOUS_CODES: dict[str, dict[str, str]] = {"histology": {}}
for _code, _names in vocab.histology_by_icdo3().items():
    for _spelling in (_code, f"m{_code}", f"m {_code}"):
        if len(_names) == 1:
            ENUM_SYNONYMS["histology"][spelling_key(_spelling)] = _names[0]
        else:
            AMBIGUOUS_CODES["histology"][spelling_key(_spelling)] = (
                f"ICD-O-3 {_code} names several WHO 2022 subtypes: write one of {', '.join(_names)}"
            )
# Systemic agents: their ATC codes.
ENUM_SYNONYMS["agent"] = {spelling_key(a.atc): a.agent for a in vocab.agents().values() if a.atc}

# TNM columns: the letter each expects and the prefix that merely repeats the column's kind
# (c in a clinical column, p in a pathological one) and is dropped. The y (during or after
# initial multimodality therapy), r (recurrence after a disease-free interval) and a (at
# autopsy) prefixes carry meaning: they are moved to the row's `tnm_prefix` column (ypT2 → pt
# T2, tnm_prefix y), never dropped.
# The staging file's category columns have no own prefix: it is the row's classification.
TNM_COLUMNS: dict[str, tuple[str, str]] = {
    "ct": ("T", "c"),
    "cn": ("N", "c"),
    "cm": ("M", "c"),
    "pt": ("T", "p"),
    "pn": ("N", "p"),
    "pm": ("M", "p"),
    "t_category": ("T", ""),
    "n_category": ("N", ""),
    "m_category": ("M", ""),
}
TNM_PATTERN = re.compile(r"(?P<prefix>[cpyra]{0,3})\s*(?P<letter>[tnm])?\s*(?P<cat>[0-4x][abc]?)")
# The prefix letters that carry meaning, in the order the stored `tnm_prefix` writes them.
TNM_MEANINGFUL = "yra"
ENUM_SYNONYMS["tnm_prefix"] = {"ry": "yr"}


def tnm_meaning(prefix: str) -> str | None:
    """The meaningful letters of a written prefix in stored order ("rp" → "r", "ryp" → "yr",
    "c" → ""), or None when they do not form one of `dictionary.TNM_PREFIXES` ("ya", "yy")."""
    letters = [ch for ch in prefix if ch in TNM_MEANINGFUL]
    if len(set(letters)) != len(letters):
        return None
    stored = "".join(ch for ch in TNM_MEANINGFUL if ch in letters)
    return stored if stored == "" or stored in TNM_PREFIXES else None


# Categories of an older AJCC edition that the 8th edition (our staging) no longer has.
TNM_OLD_EDITION: dict[str, str] = {
    "N2": "N2 is an AJCC 7 category (metastasis in more than one regional lymph node); the "
    "AJCC 8 kidney N category has only N0/N1 (any regional node metastasis): write N1",
}

# Clavien–Dindo grades written with arabic numerals ("3a" → "IIIa").
CLAVIEN_ARABIC: dict[str, str] = {"1": "I", "2": "II", "3": "III", "4": "IV", "5": "V"}

# WHO/ISUP nuclear grade spellings ("G2", "grade 2", "ISUP 2", "II", "2.0" → 2).
ISUP_PATTERN = re.compile(r"(?:isup|who/isup|who isup|grade|g)?\s*(?P<g>[1-4]|i{1,3}|iv)(?:\.0+)?")
ISUP_ROMAN: dict[str, str] = {"i": "1", "ii": "2", "iii": "3", "iv": "4"}
# A Fuhrman grade is a different (older) system with other criteria (Delahunt et al., Am J
# Surg Pathol 2013;37:1490-1504, doi:10.1097/PAS.0b013e318299f0fb): never converted.
FUHRMAN_PATTERN = re.compile(r"fuhrman")

# Censored laboratory results ("<0.5", ">=90"): the number is stored with its comparator.
COMPARATORS: dict[str, str] = {
    "<": "<",
    "<=": "<=",
    "=<": "<=",
    "≤": "<=",
    ">": ">",
    ">=": ">=",
    "=>": ">=",
    "≥": ">=",
}
CENSORED_PATTERN = re.compile(r"(?P<op><=|=<|>=|=>|<|>|≤|≥)\s*(?P<num>[+-]?\d+(?:[.,]\d+)?)")


@dataclass(frozen=True)
class LabUnit:
    """An accepted unit of a test: stored as `stored`, the value multiplied by `factor`."""

    stored: str
    factor: Decimal = Decimal(1)


# Haemoglobin: 1 mmol/L (of the haem monomer, molar mass 16 114.5 g/mol) = 1.61145 g/dL
# (ICSH reference method: van Kampen & Zijlstra, Clin Chim Acta 1961;6:538-544,
# doi:10.1016/0009-8981(61)90145-0).
_HB_MMOL_TO_G_DL = Decimal("1.61145")

# Allowed units per test, as spelling_key(unit) → stored spelling (and conversion). The
# stored spelling is the one the calculators and earlier exports use (µ = U+00B5); the UCUM
# code of each unit is accepted as a synonym.
_UMOL = LabUnit("µmol/L")
_EGFR = LabUnit("mL/min/1.73m2")
_G9 = LabUnit("10^9/L")
LAB_UNITS: dict[str, dict[str, LabUnit]] = {
    "creatinine": {
        "mg/dl": LabUnit("mg/dL"),
        "umol/l": _UMOL,
        "µmol/l": _UMOL,
        "μmol/l": _UMOL,
        "micromol/l": _UMOL,
        "mcmol/l": _UMOL,
    },
    "egfr": {
        "ml/min/1.73m2": _EGFR,
        "ml/min/1.73 m2": _EGFR,
        "ml/min/1.73m²": _EGFR,
        "ml/min/1.73 m²": _EGFR,
        "ml/min/{1.73 m2}": _EGFR,
        "ml/min/1,73m2": _EGFR,
        "ml/min/1,73 m2": _EGFR,
        "ml/min per 1.73 m2": _EGFR,
        "ml/min/1.73m^2": _EGFR,
    },
    "hemoglobin": {
        "g/dl": LabUnit("g/dL"),
        "g/l": LabUnit("g/dL", Decimal("0.1")),
        "mmol/l": LabUnit("g/dL", _HB_MMOL_TO_G_DL),
    },
    "calcium": {"mg/dl": LabUnit("mg/dL"), "mmol/l": LabUnit("mmol/L")},
    "albumin": {"g/dl": LabUnit("g/dL"), "g/l": LabUnit("g/L")},
    "ldh": {
        "u/l": LabUnit("U/L"),
        "iu/l": LabUnit("U/L"),
        "ukat/l": LabUnit("µkat/L"),
        "µkat/l": LabUnit("µkat/L"),
    },
    "neutrophils": {"10^9/l": _G9, "10*9/l": _G9, "x10^9/l": _G9, "10e9/l": _G9, "g/l": _G9},
    "platelets": {"10^9/l": _G9, "10*9/l": _G9, "x10^9/l": _G9, "10e9/l": _G9, "g/l": _G9},
}
# Units refused for a test with a specific explanation.
LAB_UNIT_REFUSALS: dict[str, dict[str, str]] = {
    "egfr": {
        "ml/min": "mL/min without /1.73m2 is probably a creatinine clearance (not indexed to "
        "body surface area), not an eGFR; store eGFR in mL/min/1.73m2 or leave the row out",
    },
}

# Laboratory test names ("Hb" → hemoglobin).
LAB_TEST_SYNONYMS: dict[str, str] = {
    "crea": "creatinine",
    "creat": "creatinine",
    "serum creatinine": "creatinine",
    "gfr": "egfr",
    "hb": "hemoglobin",
    "hgb": "hemoglobin",
    "haemoglobin": "hemoglobin",
    "ca": "calcium",
    "alb": "albumin",
    "neut": "neutrophils",
    "plt": "platelets",
}
ENUM_SYNONYMS["test"] = LAB_TEST_SYNONYMS

# Dates: ISO is canonical; these are rewritten with a warning. Day-month orders are
# ambiguous and need `--date-format`.
DATE_FORMATS: dict[str, str] = {
    "DD.MM.YYYY": "%d.%m.%Y",
    "DD/MM/YYYY": "%d/%m/%Y",
    "MM/DD/YYYY": "%m/%d/%Y",
    "DD-MM-YYYY": "%d-%m-%Y",
    "YYYY/MM/DD": "%Y/%m/%d",
}
ISO_DATETIME = re.compile(r"(?P<date>\d{4}-\d{2}-\d{2})[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z?")
SLASH_ISO = re.compile(r"(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})")
DAY_MONTH = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{4}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?")
SAS_DATE9 = re.compile(r"(?P<d>\d{1,2})(?P<mon>[a-z]{3})(?P<y>\d{4})(?::\d{2}:\d{2}:\d{2})?")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# A bare number in a date column: Excel stores days since 1899-12-30, SAS since 1960-01-01.
# Dates from 1960 to 2059 are 21 916-58 440 in Excel and 0-36 523 in SAS.
EXCEL_SERIAL_RANGE = (21_916, 58_440)
SAS_DAYS_RANGE = (0, 21_915)
