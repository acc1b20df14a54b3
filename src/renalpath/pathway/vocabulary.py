"""The closed vocabularies of pathway output: option codes, statuses, verification tags and
the stored strength wordings of each guideline system.

Kept in one place so the loader can refuse a pack that invents an option code, a status or
a strength wording: downstream code (registry concordance, reports, the web UI) groups by
these exact strings.
"""

from __future__ import annotations

from typing import Literal

OptionCode = Literal[
    "active_surveillance",
    "renal_mass_biopsy",
    "partial_nephrectomy",
    "radical_nephrectomy",
    "radical_nephrectomy_with_thrombectomy",
    "thermal_ablation",
    "arterial_embolisation",
    "cytoreductive_nephrectomy",
    "deferred_cytoreductive_nephrectomy",
    "tumour_volume_reduction",
    "systemic_therapy",
    "palliative_radiotherapy",
    "stereotactic_radiotherapy",
    "palliative_surgery",
    "orthopaedic_stabilisation",
    "preoperative_embolisation",
    "metastasectomy",
    "repeat_imaging",
    "repeat_ablation",
    "salvage_partial_nephrectomy",
    "salvage_radical_nephrectomy",
    "completion_radical_nephrectomy",
    "local_recurrence_excision",  # e.g. renal-fossa recurrence after RN (not a metastasis)
    "adrenalectomy",
    "lymph_node_dissection",
    "adjuvant_immunotherapy",
    "adjuvant_tki",
    "genetic_referral",
    "brain_imaging",
    "best_supportive_care",
]
Status = Literal[
    "recommended", "alternative", "discuss", "not_recommended", "blocked_missing_input"
]
Modality = Literal["cryo", "rfa", "mwa", "any"]
Verification = Literal["V", "S", "R", "B", "P"]

OPTION_CODES: frozenset[str] = frozenset(OptionCode.__args__)  # type: ignore[attr-defined]
STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]
MODALITY_OPTIONS = frozenset({"thermal_ablation", "repeat_ablation"})

# Display order: what to do first, what not to do after, and last what cannot be decided yet
# (the missing inputs are listed separately, so blocked options need not push answers down).
STATUS_RANK = {
    "recommended": 0,
    "alternative": 1,
    "discuss": 2,
    "not_recommended": 3,
    "blocked_missing_input": 4,
}
# How positive a decided status is (lower = more positive); used to cap a status.
LEVEL = {"recommended": 0, "alternative": 1, "discuss": 2, "not_recommended": 3}
POSITIVE_RANK = {"recommended": 0, "alternative": 1, "discuss": 2}

# Stored verbatim, each in its own system's words (never translated between systems).
# "Project default" marks rules that are engineering decisions of this project, for which no
# guideline wording exists (our choice; reported as an open point).
STRENGTHS = frozenset(
    {
        "EAU Strong",
        "EAU Weak",
        "EAU (strength not captured)",
        "AUA Strong",
        "AUA Moderate",
        "AUA Conditional",
        "AUA Clinical Principle",
        "AUA Expert Opinion",
        "AUA (strength not captured)",
        "AUA 2013 Standard",
        "AUA 2013 Recommendation",
        "AUA 2013 Option",
        "AUA 2013 Clinical Principle",
        "AUA 2013 (strength not captured)",
        "Descriptive (Oncolex)",
        "Literature (case series)",
        "Literature (scoring system)",
        "Literature (systematic review)",
        "Literature (post-hoc analysis)",
        "Project default",
    }
)
GRADED_PREFIXES = ("EAU ", "AUA ")


def is_graded(strength: str) -> bool:
    return strength.startswith(GRADED_PREFIXES)


def tier(strength: str) -> int:
    """Which statements decide a merged status (lower decides) [project default].

    0: graded guideline (EAU/AUA); 1: literature and project defaults of the current packs;
    2: descriptive founding-document statements (Oncolex 2018, the oldest and ungraded).
    """
    if is_graded(strength):
        return 0
    return 2 if strength == "Descriptive (Oncolex)" else 1


def is_strong(strength: str) -> bool:
    return strength in ("EAU Strong", "AUA Strong")


# Looked up once per contribution when merging; every pack strength is one of STRENGTHS.
TIER_OF: dict[str, int] = {s: tier(s) for s in STRENGTHS}
STRONG = frozenset(s for s in STRENGTHS if is_strong(s))
