"""The "Karnofsky < 80%" factor of IMDC and MSKCC, from KPS or (when only that is known) ECOG.

Both models were built on Karnofsky performance status.  Clinics often record only ECOG, so
IMDC, Heng 2009 [P; standard ECOG↔KPS correspondence, R] maps ECOG 0 → KPS ≥ 80 (factor
absent) and ECOG ≥ 2 → KPS < 80 (factor present).  ECOG 1 corresponds to KPS 70–80, which
straddles the cut-off: the factor is indeterminate, and the caller must compute both readings
rather than guess (a project choice awaiting clinical sign-off).

The two scales do not convert exactly.  The conventional correspondence [R] (ECOG 0 ≈ KPS
90–100, 1 ≈ 70–80, 2 ≈ 50–60, 3 ≈ 30–40, 4 ≈ 10–20) is one of several: Buccheri et al., Eur J
Cancer 1996;32A(7):1135–41 found a three-band table fitted its patients best and noted that
converting between the scales is error-prone [V abstract]; Prasad et al., World J Clin Oncol
2018;9(7):140–7 (doi:10.5306/wjco.v9.i7.140, PMID 30425939), 5,844 paired assessments, fitted
KPS 100 ≈ ECOG 0, 80–90 ≈ 1, 70 ≈ 2, 50–60 ≈ 3, 10–40 ≈ 4 [V abstract].  So a case records the
scale the clinician assessed, and the other scale is only ever *shown* as the conventional
approximate equivalent (`ecog_equivalent`, `kps_equivalent`), never fed to a score.
"""

from __future__ import annotations

from dataclasses import dataclass

from renalpath.clinical.common import ClinicalInputError, Problem
from renalpath.clinical.scores import require_int

KPS_CUTOFF = 80  # factor present when KPS < 80% (Heng 2009 [V abstract]; Motzer 2002 [V abstract])
KPS_INDETERMINATE_FLAG = "kps_indeterminate"
ECOG_MAPPED_FLAG = "ecog_mapped_to_kps"
DISCORDANT_FLAG = "ecog_kps_discordant"


@dataclass(frozen=True)
class KpsFactor:
    """The KPS < 80 factor: `present`, and `present_alt` when ECOG 1 leaves it open."""

    present: bool
    present_alt: bool | None
    flags: tuple[str, ...]
    notes: tuple[str, ...]

    def alternative(self, score: int) -> int | None:
        """The score re-read with KPS < 80 when ECOG 1 left the factor open, else None."""
        if self.present_alt is None:
            return None
        return score - int(self.present) + int(self.present_alt)


# The conventional ECOG ↔ KPS correspondence [R] (see the module docstring for its limits).
_KPS_BAND_OF_ECOG: dict[int, tuple[int, int]] = {
    0: (90, 100),
    1: (70, 80),
    2: (50, 60),
    3: (30, 40),
    4: (10, 20),
}


def ecog_equivalent(kps: int) -> int | None:
    """The ECOG grade conventionally taken as equivalent to a KPS (None for KPS 0 = dead)."""
    kps = check_kps(kps)
    for ecog, (low, high) in _KPS_BAND_OF_ECOG.items():
        if low <= kps <= high:
            return ecog
    return None


def kps_equivalent(ecog: int) -> tuple[int, int]:
    """The KPS band (low, high) conventionally taken as equivalent to an ECOG grade."""
    return _KPS_BAND_OF_ECOG[check_ecog(ecog)]


def check_kps(kps: object) -> int:
    # valid input range: KPS 0–100 in steps of 10
    return require_int("kps", kps, 0, 100, "%", step=10, hint=_step_hint(kps))


def check_ecog(ecog: object) -> int:
    # valid input range: ECOG 0–4 (5 = dead is not a performance status to score)
    return require_int("ecog", ecog, 0, 4)


def kps_factor(kps: object, ecog: object) -> KpsFactor:
    """Resolve the KPS < 80 factor; KPS wins when both are given, ECOG disagreement is flagged."""
    if kps is None and ecog is None:
        raise ClinicalInputError(
            Problem(
                "kps",
                None,
                "KPS 0–100 % in steps of 10 (or ECOG 0–4)",
                "KPS (or ECOG) is required; performance status is never assumed",
            )
        )
    problems: list[Problem] = []
    kps_ok: int | None = None
    ecog_ok: int | None = None
    if kps is not None:
        try:
            kps_ok = check_kps(kps)
        except ClinicalInputError as err:
            problems.extend(err.problems)
    if ecog is not None:
        try:
            ecog_ok = check_ecog(ecog)
        except ClinicalInputError as err:
            problems.extend(err.problems)
    if problems:
        raise ClinicalInputError(problems)
    ecog_reading = None if ecog_ok is None or ecog_ok == 1 else ecog_ok >= 2
    if kps_ok is not None:
        present = kps_ok < KPS_CUTOFF
        if ecog_reading is not None and ecog_reading != present:
            return KpsFactor(
                present,
                None,
                (DISCORDANT_FLAG,),
                (f"KPS {kps_ok} used; ECOG {ecog_ok} would suggest the opposite reading",),
            )
        return KpsFactor(present, None, (), ())
    assert ecog_ok is not None
    if ecog_reading is None:  # ECOG 1 ≈ KPS 70–80: both readings are possible
        return KpsFactor(
            False,
            True,
            (KPS_INDETERMINATE_FLAG, ECOG_MAPPED_FLAG),
            (
                "ECOG 1 corresponds to KPS 70-80: score/group assume KPS >= 80, "
                "score_alt/group_alt assume KPS < 80; record KPS to resolve [P]",
            ),
        )
    return KpsFactor(
        ecog_reading,
        None,
        (ECOG_MAPPED_FLAG,),
        (f"ECOG {ecog_ok} mapped to KPS {'< 80' if ecog_reading else '>= 80'} [P; R]",),
    )


def _step_hint(kps: object) -> str | None:
    if isinstance(kps, bool) or not isinstance(kps, int) or not 0 < kps < 100 or kps % 10 == 0:
        return None
    if kps <= 4:
        return f"Karnofsky scores are multiples of 10; did you mean ECOG {kps}?"
    return "Karnofsky scores are multiples of 10"
