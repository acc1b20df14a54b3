"""Parsing and checking of the nephrectomy pathology that Leibovich 2003 and SSIGN score.

Both scores were derived on pathological (not clinical) staging of clear-cell RCC, so this
module refuses clinical categories ("cT1a"), categories that do not exist in TNM 8 ("pT5",
"pN2"), and a pT that contradicts the tumour size (a 110 mm "pT1a"), rather than scoring them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from renalpath.clinical.common import ClinicalInputError, Problem
from renalpath.clinical.scores import normalise_token, require_bool, require_int

HISTOLOGIES = (
    "clear_cell",
    "papillary",
    "chromophobe",
    "oncocytoma",
    "angiomyolipoma",
    "other",
    "unknown",
)  # registry CSV contract tumours.csv / pathology.csv vocabulary
GRADE_SYSTEMS = ("who_isup", "fuhrman")
# Leibovich and SSIGN were derived on Fuhrman grade; a WHO/ISUP grade gets the same points
# (project assumption [P], awaiting clinical sign-off): the result says so.
GRADE_MAPPING_FLAG = "who_isup_grade_scored_as_fuhrman"
GRADE_MAPPING_NOTE = "WHO/ISUP grade scored with the Fuhrman points (project assumption [P])"
T = TypeVar("T")

SIZE_MM_RANGE = (1.0, 400.0)  # valid input range: tumour_max_diameter_mm 1–400 [P]

_PT_RE = re.compile(r"^(?P<prefix>[pcy]{0,2})t(?P<cat>[0-9x]|is)(?P<sub>[a-c]?)$")
_PN_RE = re.compile(r"^(?P<prefix>[pcy]{0,2})n(?P<cat>[0-9x])$")
_M_RE = re.compile(r"^(?P<prefix>[pcy]{0,2})m(?P<cat>[0-1x])(?:[a-c])?$")

# Size limits of the organ-confined T categories, AJCC/UICC 8 (AJCC 8 [V]; mm [P]):
# T1a ≤ 40, T1b > 40 ≤ 70, T2a > 70 ≤ 100, T2b > 100.  T1 = ≤ 70, T2 = > 70.
_SIZE_LIMITS_MM: dict[str, tuple[float, float]] = {
    "pT1": (0.0, 70.0),
    "pT1a": (0.0, 40.0),
    "pT1b": (40.0, 70.0),
    "pT2": (70.0, math.inf),
    "pT2a": (70.0, 100.0),
    "pT2b": (100.0, math.inf),
}


@dataclass(frozen=True)
class Pathology:
    """Checked pathology inputs, normalised to TNM 8 spelling ("pT3a", "pN0", "M1")."""

    pt: str
    pn: str
    size_mm: float
    grade: int
    necrosis: bool


def parse_pt(value: object, allowed: tuple[str, ...], field_name: str = "pt") -> str:
    """Normalise a pathological T category ("pT3a", "T3a", "pt3a") to "pT3a"; refuse the rest."""
    allowed_text = "one of " + ", ".join(allowed)
    token = normalise_token(value)
    match = _PT_RE.match(token.replace("_", "")) if token is not None else None
    if match is None:
        raise ClinicalInputError(
            Problem(
                field_name,
                value,
                allowed_text,
                _missing(value) or "a pathological T category is required",
            )
        )
    if "c" in match["prefix"]:
        raise ClinicalInputError(
            Problem(
                field_name,
                value,
                allowed_text,
                "this is a clinical T category; the score needs the pathological pT",
            )
        )
    pt = f"pT{match['cat'].upper() if match['cat'] == 'x' else match['cat']}{match['sub']}"
    if pt not in allowed:
        hint = None
        if pt in ("pT1", "pT2", "pT3") and any(a.startswith(pt) for a in allowed):
            hint = "give the sub-category (" + ", ".join(a for a in allowed if a[:3] == pt) + ")"
        elif pt in ("pTX", "pT0", "pTis"):
            hint = "the score needs a resected primary tumour with a known pT"
        elif match["cat"] not in ("x", "is") and int(match["cat"]) > 4:
            hint = "TNM 8 kidney T categories run pT1-pT4"
        raise ClinicalInputError(Problem(field_name, value, allowed_text, hint))
    return pt


def parse_pn(value: object, field_name: str = "pn") -> str:
    """Normalise pN ("pN0", "N0", "pNX") to TNM 8 "pNX" | "pN0" | "pN1"."""
    allowed_text = "one of pNX, pN0, pN1"
    token = normalise_token(value)
    match = _PN_RE.match(token.replace("_", "")) if token is not None else None
    if match is None or "c" in match["prefix"]:
        raise ClinicalInputError(Problem(field_name, value, allowed_text, _missing(value)))
    cat = match["cat"].upper()
    if cat == "2":
        raise ClinicalInputError(
            Problem(
                field_name,
                value,
                allowed_text,
                "pN2 exists only in TNM 2002 and earlier; TNM 8 records any regional node "
                "metastasis as pN1",
            )
        )
    if cat not in ("X", "0", "1"):
        raise ClinicalInputError(Problem(field_name, value, allowed_text))
    return f"pN{cat}"


def parse_m(value: object, field_name: str = "m") -> str:
    """Normalise M ("M1", "cM0", "pM1", "M1b") to "M0" | "M1"; MX is refused (not in TNM 8)."""
    allowed_text = "one of M0, M1"
    token = normalise_token(value)
    match = _M_RE.match(token.replace("_", "")) if token is not None else None
    if match is None:
        raise ClinicalInputError(Problem(field_name, value, allowed_text, _missing(value)))
    if match["cat"] == "x":
        raise ClinicalInputError(
            Problem(field_name, value, allowed_text, "MX is not a TNM 8 category; use M0 or M1")
        )
    return f"M{match['cat']}"


def check_histology(value: object, field_name: str = "histology") -> str:
    """Refuse unknown/unlisted histology: 'not clear cell' must be known, never assumed."""
    token = normalise_token(value)
    if token not in HISTOLOGIES or token == "unknown":
        raise ClinicalInputError(
            Problem(
                field_name,
                value,
                "one of " + ", ".join(h for h in HISTOLOGIES if h != "unknown"),
                "the score applies to clear-cell RCC only, so histology must be known",
            )
        )
    return token


def check_grade_system(value: object, field_name: str = "grade_system") -> str:
    token = normalise_token(value)
    if token not in GRADE_SYSTEMS:
        raise ClinicalInputError(Problem(field_name, value, "one of " + ", ".join(GRADE_SYSTEMS)))
    return token


def check_pathology(
    pt: object,
    pn: object,
    size_mm: object,
    grade: object,
    necrosis: object,
    pt_allowed: tuple[str, ...],
) -> Pathology:
    """Check every pathology input (reporting all problems at once) and that pT agrees with size."""
    problems: list[Problem] = []
    pt_ok = _collect(problems, lambda: parse_pt(pt, pt_allowed))
    pn_ok = _collect(problems, lambda: parse_pn(pn))
    size_ok = _collect(problems, lambda: _check_size(size_mm))
    grade_ok = _collect(
        problems, lambda: require_int("grade", grade, 1, 4, hint=_grade_hint(grade))
    )
    necrosis_ok = _collect(problems, lambda: require_bool("necrosis", necrosis))
    if (
        problems
        or pt_ok is None
        or pn_ok is None
        or size_ok is None
        or grade_ok is None
        or necrosis_ok is None
    ):
        raise ClinicalInputError(problems)
    _check_pt_matches_size(pt_ok, size_ok)
    return Pathology(pt=pt_ok, pn=pn_ok, size_mm=size_ok, grade=grade_ok, necrosis=necrosis_ok)


def _collect(problems: list[Problem], check: Callable[[], T]) -> T | None:
    try:
        return check()
    except ClinicalInputError as err:
        problems.extend(err.problems)
        return None


def _missing(value: object) -> str | None:
    return "value is required" if value is None else None


def _check_size(size_mm: object) -> float:
    low, high = SIZE_MM_RANGE
    allowed = f"{low:g}–{high:g} mm"
    if isinstance(size_mm, bool) or not isinstance(size_mm, int | float):
        hint: str | None = "value is required" if size_mm is None else "a number in mm is required"
        raise ClinicalInputError(Problem("size_mm", size_mm, allowed, hint))
    if not math.isfinite(size_mm) or not low <= size_mm <= high:
        hint = "size is in millimetres" if 0 < size_mm < low else None
        raise ClinicalInputError(Problem("size_mm", size_mm, allowed, hint))
    return float(size_mm)


def _grade_hint(grade: object) -> str | None:
    if isinstance(grade, int) and not isinstance(grade, bool) and grade > 4:
        return "WHO/ISUP and Fuhrman nuclear grades run 1–4"
    return None


def _check_pt_matches_size(pt: str, size_mm: float) -> None:
    limits = _SIZE_LIMITS_MM.get(pt)
    if limits is None:  # pT3/pT4 are defined by extension, any size (AJCC 8, B8 [V])
        return
    low, high = limits
    if not low < size_mm <= high:
        rng = f"> {low:g} mm" if high == math.inf else f"> {low:g} and ≤ {high:g} mm"
        if low == 0.0:
            rng = f"≤ {high:g} mm"
        raise ClinicalInputError(
            Problem(
                "size_mm",
                size_mm,
                f"{rng} for {pt} (AJCC/UICC 8)",
                f"contradicts pt={pt}; check the pathological T category or the size",
            )
        )
