"""AJCC/UICC 8th edition TNM for kidney: T category from size and extension, stage group.

Size is taken in millimetres so the 40/70/100 mm boundaries are compared on the numbers a
radiologist or pathologist writes, and any extension flag overrides size because T3/T4 are
defined by where the tumour has spread, not how big it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from renalpath.clinical.common import (
    CalcResult,
    CalculatorSpec,
    ClinicalInputError,
    InputSpec,
    Problem,
    Source,
    require_range,
)

T_CATEGORIES: tuple[str, ...] = ("T1a", "T1b", "T2a", "T2b", "T3a", "T3b", "T3c", "T4")
# Accepted by stage_group in addition to T_CATEGORIES (sub-category not recorded, or unknown).
T_GENERAL: tuple[str, ...] = ("T1", "T2", "T3", "TX", "T0")
N_CATEGORIES: tuple[str, ...] = ("N0", "N1", "NX")
M_CATEGORIES: tuple[str, ...] = ("M0", "M1")
STAGE_GROUPS: tuple[str, ...] = ("I", "II", "III", "IV")

# valid input range: tumour_max_diameter_mm 1–400 mm.
SIZE_MM_MIN, SIZE_MM_MAX = 1.0, 400.0

TNM_SOURCES = (
    Source(
        "Brierley JD, Gospodarowicz MK, Wittekind C (eds). TNM Classification of Malignant "
        "Tumours, 8th edition (UICC, 2016), and Amin MB et al. (eds). AJCC Cancer Staging "
        "Manual, 8th edition (Springer, 2017) — kidney (T, N, M)",
        "T, N and M categories read via UICC TNM Help, kidney (issuu), "
        "https://issuu.com./tnmhelp/docs/kidney_06333df88db325, and the EAU pocket guideline "
        "TNM table",
        "https://www.uicc.org/news/8th-edition-uicc-tnm-classification-malignant-tumors-published",
        "S",
    ),
    Source(
        "Amin MB et al. (eds). AJCC Cancer Staging Manual, 8th edition. Springer, 2017 — kidney "
        "stage groups",
        "stage groups read via Action to Cure Kidney Cancer, https://ackc.org/kidney-cancer-staging",
        "",
        "S",
    ),
)

SPEC = CalculatorSpec(
    id="tnm-kidney",
    name="TNM classification and stage group for kidney cancer (AJCC 8 = UICC 8)",
    version="AJCC/UICC 8th edition",
    formula=(
        "T (organ-confined, by greatest dimension): T1a ≤ 40 mm; T1b > 40 ≤ 70 mm; "
        "T2a > 70 ≤ 100 mm; T2b > 100 mm.  Extension overrides size: T3a renal vein or "
        "segmental branches, pelvicalyceal system, perirenal or renal-sinus fat (within Gerota); "
        "T3b vena cava below diaphragm; T3c vena cava above diaphragm or caval wall; "
        "T4 beyond Gerota fascia incl. contiguous ipsilateral adrenal.  "
        "Stage: I = T1 N0 M0; II = T2 N0 M0; III = T1–T2 N1 M0 or T3 N0–N1 M0; "
        "IV = T4 any N M0 or any T any N M1"
    ),
    inputs=(
        InputSpec("size_mm", "mm", "1–400", "greatest tumour dimension; needed unless extension"),
        InputSpec("extension flags", "flags", "true | false", "vein, fat, IVC, Gerota, adrenal"),
        InputSpec("t", "—", "T1a…T4, T1/T2/T3, TX, T0 (optional c/p prefix)", "instead of size"),
        InputSpec("n", "—", "N0 | N1 | NX (optional c/p prefix)", "regional nodes"),
        InputSpec("m", "—", "M0 | M1 (optional c/p prefix)", "distant metastasis"),
    ),
    bands=(
        "I: T1 N0 M0",
        "II: T2 N0 M0",
        "III: T1–T2 N1 M0, or T3 N0–N1 M0",
        "IV: T4 any N M0, or any T any N M1",
    ),
    sources=TNM_SOURCES,
    notes=(
        "Millimetre boundaries (40/70/100) are a project convention for the cm definitions [P].",
        "NX is accepted where N does not change the group (T3, T4, M1); otherwise refused.",
    ),
)


@dataclass(frozen=True)
class TnmResult(CalcResult):
    t: str
    n: str
    m: str
    stage_group: str


def t_category(
    size_mm: float | None,
    *,
    renal_vein: bool = False,
    pelvicalyceal: bool = False,
    perirenal_fat: bool = False,
    sinus_fat: bool = False,
    ivc_below_diaphragm: bool = False,
    ivc_above_diaphragm: bool = False,
    ivc_wall: bool = False,
    beyond_gerota: bool = False,
    adrenal_contiguous: bool = False,
) -> str:
    """AJCC 8 T category ("T1a".."T4") from greatest dimension in mm plus extension flags."""
    flags = {
        "renal_vein": renal_vein,
        "pelvicalyceal": pelvicalyceal,
        "perirenal_fat": perirenal_fat,
        "sinus_fat": sinus_fat,
        "ivc_below_diaphragm": ivc_below_diaphragm,
        "ivc_above_diaphragm": ivc_above_diaphragm,
        "ivc_wall": ivc_wall,
        "beyond_gerota": beyond_gerota,
        "adrenal_contiguous": adrenal_contiguous,
    }
    problems = [
        Problem(name, value, "true | false")
        for name, value in flags.items()
        if not isinstance(value, bool)
    ]
    size: float | None = None
    if size_mm is not None:
        try:
            size = require_range("size_mm", size_mm, SIZE_MM_MIN, SIZE_MM_MAX, "mm")
        except ClinicalInputError as err:
            problems.extend(err.problems)
    if problems:
        raise ClinicalInputError(problems)

    # AJCC 8 [S]: extension defines T3/T4 whatever the size; most advanced wins.
    if beyond_gerota or adrenal_contiguous:
        return "T4"
    if ivc_above_diaphragm or ivc_wall:
        return "T3c"
    if ivc_below_diaphragm:
        return "T3b"
    if renal_vein or pelvicalyceal or perirenal_fat or sinus_fat:
        return "T3a"
    if size is None:
        raise ClinicalInputError(
            Problem(
                "size_mm",
                None,
                f"{SIZE_MM_MIN:g}–{SIZE_MM_MAX:g} mm",
                "size is required to classify an organ-confined tumour (no extension flag set)",
            )
        )
    # AJCC 8 [V; mm boundaries P]: T1a ≤ 40; T1b > 40 ≤ 70; T2a > 70 ≤ 100; T2b > 100.
    if size <= 40.0:
        return "T1a"
    if size <= 70.0:
        return "T1b"
    if size <= 100.0:
        return "T2a"
    return "T2b"


def _strip_prefix(field_name: str, value: object, letter: str, allowed: tuple[str, ...]) -> str:
    """Accept "T1a", "cT1a", "pT1a" (any case of the prefix), return the bare category."""
    text = "one of " + ", ".join(allowed) + " (optional c/p prefix)"
    if not isinstance(value, str):
        hint = "value is required" if value is None else None
        raise ClinicalInputError(Problem(field_name, value, text, hint))
    bare = value.strip()
    if bare[:1].lower() in ("c", "p") and bare[1:2].upper() == letter:
        bare = bare[1:]
    canonical = {a.lower(): a for a in allowed}.get(bare.lower())
    if canonical is None:
        raise ClinicalInputError(Problem(field_name, value, text))
    return canonical


def normalise_t(t: str) -> str:
    """Bare T category ("T3a") from "T3a", "cT3a" or "pT3a"."""
    return _strip_prefix("t", t, "T", T_CATEGORIES + T_GENERAL)


def stage_group(t: str, n: str, m: str) -> str:
    """AJCC 8 stage group ("I".."IV") of a T, N, M triple."""
    problems: list[Problem] = []
    parsed: list[str] = []
    for name, value, letter, allowed in (
        ("t", t, "T", T_CATEGORIES + T_GENERAL),
        ("n", n, "N", N_CATEGORIES),
        ("m", m, "M", M_CATEGORIES),
    ):
        try:
            parsed.append(_strip_prefix(name, value, letter, allowed))
        except ClinicalInputError as err:
            problems.extend(err.problems)
    if problems:
        raise ClinicalInputError(problems)
    t_, n_, m_ = parsed

    # AJCC 8 [S: ACKC citing AJCC]: IV = any T any N M1, or T4 any N M0.
    if m_ == "M1":
        return "IV"
    if t_ in ("TX", "T0"):
        raise ClinicalInputError(
            Problem("t", t, "T1–T4 when M0", "no stage group is defined for TX/T0 with M0")
        )
    if t_ == "T4":
        return "IV"
    # III = T3 N0–N1 M0 (N does not change the group, so NX is also III).
    if t_.startswith("T3"):
        return "III"
    # T1–T2 M0: N decides between I/II and III.
    if n_ == "NX":
        raise ClinicalInputError(
            Problem(
                "n",
                n,
                "N0 | N1 for T1–T2 M0",
                "NX (nodes not assessed): stage I/II vs III cannot be decided",
            )
        )
    if n_ == "N1":
        return "III"
    return "I" if t_.startswith("T1") else "II"


def tnm(
    size_mm: float | None = None,
    *,
    n: str,
    m: str,
    t: str | None = None,
    renal_vein: bool = False,
    pelvicalyceal: bool = False,
    perirenal_fat: bool = False,
    sinus_fat: bool = False,
    ivc_below_diaphragm: bool = False,
    ivc_above_diaphragm: bool = False,
    ivc_wall: bool = False,
    beyond_gerota: bool = False,
    adrenal_contiguous: bool = False,
) -> TnmResult:
    """T (given, or from size + extension), N, M and the stage group.

    If both an explicit `t` and size/extension are given they must agree (a recorded pT1b for a
    39 mm confined tumour is a data error to surface, not to pick one side of silently).
    """
    extension = {
        "renal_vein": renal_vein,
        "pelvicalyceal": pelvicalyceal,
        "perirenal_fat": perirenal_fat,
        "sinus_fat": sinus_fat,
        "ivc_below_diaphragm": ivc_below_diaphragm,
        "ivc_above_diaphragm": ivc_above_diaphragm,
        "ivc_wall": ivc_wall,
        "beyond_gerota": beyond_gerota,
        "adrenal_contiguous": adrenal_contiguous,
    }
    derived: str | None = None
    if size_mm is not None or any(v is not False for v in extension.values()) or t is None:
        derived = t_category(size_mm, **extension)
    if t is not None:
        given = normalise_t(t)
        if derived is not None and not derived.startswith(given):
            raise ClinicalInputError(
                Problem(
                    "t",
                    t,
                    f"consistent with size/extension ({derived})",
                    "given T contradicts the size_mm/extension flags",
                )
            )
        t_final = derived if derived is not None else given
    else:
        assert derived is not None
        t_final = derived
    group = stage_group(t_final, n, m)
    n_final = _strip_prefix("n", n, "N", N_CATEGORIES)
    m_final = _strip_prefix("m", m, "M", M_CATEGORIES)
    return TnmResult(
        calculator_id=SPEC.id,
        version=SPEC.version,
        band=f"stage {group}",
        sources=SPEC.sources,
        t=t_final,
        n=n_final,
        m=m_final,
        stage_group=group,
    )
