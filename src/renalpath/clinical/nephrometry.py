"""Anatomical complexity of a renal mass: R.E.N.A.L. and PADUA nephrometry scores.

Both scores are built from the same CT/MRI measurements but use different size boundaries
(a 70 mm tumour scores 3 in RENAL and 2 in PADUA), so each component is computed from the raw
measurement here rather than accepted as a pre-scored point, and the components are returned
so a reader can check every point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from renalpath.clinical.common import (
    CalcResult,
    CalculatorSpec,
    ClinicalInputError,
    InputSpec,
    Problem,
    Source,
    require_choice,
    require_range,
)

_T = TypeVar("_T")

# R.E.N.A.L., Kutikov 2009 / PADUA, Ficarra 2009 valid inputs [P]: diameter 0.1–40 cm (1–400 mm);
# exophytic 0–100 %;
# nearness 0–200 mm.
SIZE_MM_MIN, SIZE_MM_MAX = 1.0, 400.0
EXOPHYTIC_MIN, EXOPHYTIC_MAX = 0.0, 100.0
NEARNESS_MM_MIN, NEARNESS_MM_MAX = 0.0, 200.0

RENAL_AP = ("a", "p", "x")
RENAL_POLAR = ("outside", "crosses", "central")
PADUA_POLAR = ("superior", "inferior", "middle")
PADUA_RIM = ("lateral", "medial")
PADUA_FACE = ("a", "p")

RENAL_SOURCE = Source(
    "Kutikov A, Uzzo RG. The R.E.N.A.L. nephrometry score. J Urol 2009;182:844",
    "PMC3124570 Table 1; Radiopaedia",
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC3124570/table/T1/",
    "V",
)
PADUA_SOURCE = Source(
    "Ficarra V et al. PADUA classification. Eur Urol 2009;56:786",
    "point values [R] — verify against Ficarra Table 1",
    "https://linkinghub.elsevier.com/retrieve/pii/S030228380900788X",
    "R",
)

RENAL_SPEC = CalculatorSpec(
    id="renal-nephrometry",
    name="R.E.N.A.L. nephrometry score",
    version="Kutikov & Uzzo 2009",
    formula=(
        "R (max diameter): ≤ 40 mm = 1, > 40 and < 70 mm = 2, ≥ 70 mm = 3; "
        "E (exophytic): ≥ 50 % = 1, < 50 % = 2, entirely endophytic (0 %) = 3; "
        "N (deepest point to collecting system/sinus): ≥ 7 mm = 1, > 4 and < 7 mm = 2, ≤ 4 mm = 3; "
        "A: descriptor a/p/x, no points; "
        "L (polar lines): entirely above/below = 1, crosses = 2, > 50 % across / crosses axial "
        "midline / entirely between = 3; suffix h if touching main renal artery or vein. "
        "Total = R + E + N + L (4–12), written <total><a|p|x>[h], e.g. 10xh"
    ),
    inputs=(
        InputSpec("size_mm", "mm", "1–400", "maximal diameter on CT/MRI, any plane"),
        InputSpec("exophytic_pct", "%", "0–100", "0 = entirely endophytic"),
        InputSpec("nearness_mm", "mm", "0–200", "to collecting system or renal sinus"),
        InputSpec("ap", "—", "a | p | x", "anterior, posterior, neither"),
        InputSpec("polar", "—", "outside | crosses | central", "relation to polar lines"),
        InputSpec("hilar", "flag", "true | false", "touches main renal artery or vein"),
    ),
    bands=("4–6: low complexity", "7–9: moderate complexity", "10–12: high complexity"),
    sources=(RENAL_SOURCE,),
    notes=("Bands per Radiopaedia [V]; a 70 mm tumour scores R = 3 (PADUA size = 2).",),
)

PADUA_SPEC = CalculatorSpec(
    id="padua",
    name="PADUA (Preoperative Aspects and Dimensions Used for an Anatomical) score",
    version="Ficarra 2009",
    formula=(
        "longitudinal (polar) location: superior/inferior = 1, middle = 2; "
        "exophytic rate: ≥ 50 % = 1, < 50 % = 2, endophytic (0 %) = 3; "
        "renal rim: lateral = 1, medial = 2; renal sinus: not involved = 1, involved = 2; "
        "urinary collecting system: not involved = 1, dilated/infiltrated = 2; "
        "size: ≤ 40 mm = 1, > 40 and ≤ 70 mm = 2, > 70 mm = 3; face a/p, no points. "
        "Total 6–14, written <total><a|p>, e.g. 8a"
    ),
    inputs=(
        InputSpec("size_mm", "mm", "1–400", "maximal diameter"),
        InputSpec("exophytic_pct", "%", "0–100", "0 = entirely endophytic"),
        InputSpec("polar", "—", "superior | inferior | middle", "longitudinal location"),
        InputSpec("rim", "—", "lateral | medial", "renal rim"),
        InputSpec("sinus", "flag", "true | false", "renal sinus involved"),
        InputSpec("ucs", "flag", "true | false", "urinary collecting system involved"),
        InputSpec("face", "—", "a | p", "anterior or posterior face"),
    ),
    bands=("6–7: low risk", "8–9: intermediate risk", "≥ 10: high risk"),
    sources=(PADUA_SOURCE,),
    notes=(
        "Risk groups 6–7 / 8–9 / ≥ 10 confirmed from the Ficarra abstract [V]; the component "
        "point values were cross-checked against the MIT-licensed KiTS seg_to_nephrometry "
        "code but not read from Ficarra Table 1 [R]: needs clinician verification.",
    ),
)

SPEC = RENAL_SPEC


@dataclass(frozen=True)
class RenalResult(CalcResult):
    total: int
    label: str  # e.g. "10xh"
    complexity: str  # low | moderate | high
    components: dict[str, int | str | bool] = field(default_factory=dict)


@dataclass(frozen=True)
class PaduaResult(CalcResult):
    total: int
    label: str  # e.g. "8a"
    risk: str  # low | intermediate | high
    components: dict[str, int | str] = field(default_factory=dict)


class _Checker:
    """Collects every refusal so one call reports all bad fields at once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def __call__(self, fn: Callable[[], _T]) -> _T | None:
        try:
            return fn()
        except ClinicalInputError as err:
            self.problems.extend(err.problems)
            return None

    def raise_if_any(self) -> None:
        if self.problems:
            raise ClinicalInputError(self.problems)


def _require_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ClinicalInputError(Problem(name, value, "true | false"))
    return value


def _exophytic_points(pct: float) -> int:
    # RENAL E (R.E.N.A.L., Kutikov 2009 [V]) and PADUA exophytic rate (B7 [R]) share the same cut-
    # offs:
    # ≥ 50 % = 1, < 50 % (but > 0) = 2, entirely endophytic = 3.
    if pct >= 50.0:
        return 1
    if pct > 0.0:
        return 2
    return 3


def renal_score(
    size_mm: float,
    exophytic_pct: float,
    nearness_mm: float,
    ap: str,
    polar: str,
    hilar: bool,
) -> RenalResult:
    """R.E.N.A.L. nephrometry score from raw measurements."""
    check = _Checker()
    size = check(lambda: require_range("size_mm", size_mm, SIZE_MM_MIN, SIZE_MM_MAX, "mm"))
    exo = check(
        lambda: require_range("exophytic_pct", exophytic_pct, EXOPHYTIC_MIN, EXOPHYTIC_MAX, "%")
    )
    near = check(
        lambda: require_range("nearness_mm", nearness_mm, NEARNESS_MM_MIN, NEARNESS_MM_MAX, "mm")
    )
    ap_ = check(lambda: require_choice("ap", ap, RENAL_AP))
    polar_ = check(lambda: require_choice("polar", polar, RENAL_POLAR))
    hilar_ = check(lambda: _require_bool("hilar", hilar))
    check.raise_if_any()
    assert size is not None and exo is not None and near is not None
    assert ap_ is not None and polar_ is not None and hilar_ is not None

    # R.E.N.A.L., Kutikov 2009 [V: PMC3124570 Table 1]: R ≤ 4 cm = 1, > 4 and < 7 cm = 2, ≥ 7 cm =
    # 3.
    r = 1 if size <= 40.0 else 2 if size < 70.0 else 3
    e = _exophytic_points(exo)
    # B6 [V]: N ≥ 7 mm = 1, > 4 and < 7 mm = 2, ≤ 4 mm = 3.
    n = 1 if near >= 7.0 else 2 if near > 4.0 else 3
    # B6 [V]: L outside polar lines = 1, crosses = 2, central (> 50 % across / midline) = 3.
    loc = {"outside": 1, "crosses": 2, "central": 3}[polar_]
    total = r + e + n + loc
    # B6 [V Radiopaedia]: 4–6 low, 7–9 moderate, 10–12 high.
    complexity = "low" if total <= 6 else "moderate" if total <= 9 else "high"
    label = f"{total}{ap_}{'h' if hilar_ else ''}"
    return RenalResult(
        calculator_id=RENAL_SPEC.id,
        version=RENAL_SPEC.version,
        band=f"{complexity} complexity",
        sources=RENAL_SPEC.sources,
        total=total,
        label=label,
        complexity=complexity,
        components={"R": r, "E": e, "N": n, "A": ap_, "L": loc, "h": hilar_},
    )


def padua_score(
    size_mm: float,
    exophytic_pct: float,
    polar: str,
    rim: str,
    sinus: bool,
    ucs: bool,
    face: str,
) -> PaduaResult:
    """PADUA score from raw measurements (PADUA, Ficarra 2009; point values [R])."""
    check = _Checker()
    size = check(lambda: require_range("size_mm", size_mm, SIZE_MM_MIN, SIZE_MM_MAX, "mm"))
    exo = check(
        lambda: require_range("exophytic_pct", exophytic_pct, EXOPHYTIC_MIN, EXOPHYTIC_MAX, "%")
    )
    polar_ = check(lambda: require_choice("polar", polar, PADUA_POLAR))
    rim_ = check(lambda: require_choice("rim", rim, PADUA_RIM))
    sinus_ = check(lambda: _require_bool("sinus", sinus))
    ucs_ = check(lambda: _require_bool("ucs", ucs))
    face_ = check(lambda: require_choice("face", face, PADUA_FACE))
    check.raise_if_any()
    assert size is not None and exo is not None and polar_ is not None and rim_ is not None
    assert sinus_ is not None and ucs_ is not None and face_ is not None

    # PADUA, Ficarra 2009 [S/R: Ficarra 2009; KiTS seg_to_nephrometry]:
    polar_pts = 2 if polar_ == "middle" else 1  # superior/inferior 1, middle 2
    exo_pts = _exophytic_points(exo)  # ≥ 50 % 1, < 50 % 2, endophytic 3
    rim_pts = 2 if rim_ == "medial" else 1  # lateral 1, medial 2
    sinus_pts = 2 if sinus_ else 1  # not involved 1, involved 2
    ucs_pts = 2 if ucs_ else 1  # not involved 1, dilated/infiltrated 2
    size_pts = 1 if size <= 40.0 else 2 if size <= 70.0 else 3  # ≤ 4, > 4 ≤ 7, > 7 cm
    total = polar_pts + exo_pts + rim_pts + sinus_pts + ucs_pts + size_pts
    # B7 [V: Ficarra abstract]: 6–7 low, 8–9 intermediate, ≥ 10 high.
    risk = "low" if total <= 7 else "intermediate" if total <= 9 else "high"
    return PaduaResult(
        calculator_id=PADUA_SPEC.id,
        version=PADUA_SPEC.version,
        band=f"{risk} risk",
        sources=PADUA_SPEC.sources,
        flags=("padua_points_need_verification",),
        total=total,
        label=f"{total}{face_}",
        risk=risk,
        components={
            "polar": polar_pts,
            "exophytic": exo_pts,
            "rim": rim_pts,
            "sinus": sinus_pts,
            "ucs": ucs_pts,
            "size": size_pts,
            "face": face_,
        },
    )
