"""Follow-up plan after surgery for localised RCC (clinical-spec §A.10), from versioned profiles.

Why profiles are data: the schedule is the part of the guideline most likely to change (the
current EAU table could not be retrieved; FU-P1 is a recalled fixture).  Swapping a profile
file must change the plan without touching code, and every plan names the profile id and
version it came from.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from renalpath.pathway.case import Case
from renalpath.pathway.conditions import PackError
from renalpath.pathway.derive import Derived

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
DEFAULT_PROFILE = "eau-fu-recalled"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Visit(_Strict):
    month: int = Field(ge=1, le=240)
    imaging: str


class GroupSchedule(_Strict):
    treatments: list[Literal["partial_nephrectomy", "radical_nephrectomy"]]
    visits: list[Visit] = Field(min_length=1)
    after_5_years: str


class ProfileSource(_Strict):
    title: str
    section: str = ""
    url: str = ""


class Profile(_Strict):
    id: str
    version: str
    title: str
    verification: Literal["V", "S", "R", "B", "P"]
    risk_model: Literal["leibovich"]
    source: ProfileSource
    imaging: str
    groups: dict[Literal["low", "intermediate", "high"], GroupSchedule]
    every_visit: list[str] = Field(default_factory=list)


@functools.cache
def load_profiles() -> dict[str, Profile]:
    """Every profile file, validated once per process; a bad file stops the program loudly."""
    out: dict[str, Profile] = {}
    for path in sorted(PROFILE_DIR.glob("*.yaml")):
        try:
            profile = Profile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (ValidationError, yaml.YAMLError) as err:
            raise PackError(f"{path.name}: {err}") from None
        if profile.id != path.stem:
            raise PackError(f"{path.name}: profile id {profile.id!r} must match the file name")
        out[profile.id] = profile
    return out


def followup_plan(case: Case, d: Derived, profile_id: str = DEFAULT_PROFILE) -> dict[str, Any]:
    """Risk group (Leibovich for clear cell, FU-01) and the profile's schedule for that group."""
    profile = load_profiles()[profile_id]
    path = case.pathology
    assert path is not None
    flags: list[str] = []
    notes: list[str] = []
    if path.margin == "positive":
        flags.append("intensified_followup")  # FU-02 / LOC-MRG-01 [S]
        notes.append("positive margin: intensify imaging follow-up rather than re-operate (FU-02)")
    group = d.values.get("derived.leibovich_group")
    score = d.values.get("derived.leibovich_score")
    missing: list[str] = []
    schedule: dict[str, Any] | None = None
    if group is None:
        missing = list(d.missing.get("leibovich_group", ("pathology",)))
        flags.append("risk_group_undetermined")
    elif group == "not_applicable":
        # FU-01: non-clear-cell → UISS or stage/grade grouping, not specified (clinical-spec §7.2).
        flags.append("risk_group_undetermined")
        notes.append(
            "Leibovich applies to clear-cell RCC only; the non-clear-cell grouping (UISS?) is "
            "not specified — a clinician must choose the schedule (clinical-spec §7 item 2)"
        )
    else:
        g = profile.groups[group]
        if path.treatment is not None and path.treatment not in g.treatments:
            notes.append(f"profile group {group} was not defined for {path.treatment}")
        schedule = {
            "visits": [{"month": v.month, "imaging": v.imaging} for v in g.visits],
            "after_5_years": g.after_5_years,
            "imaging_key": profile.imaging,
        }
    notes.append("individualise when competing (non-RCC) mortality exceeds recurrence risk (FU-03)")
    return {
        "profile": {"id": profile.id, "version": profile.version, "title": profile.title},
        "verification": profile.verification,
        "risk_model": profile.risk_model,
        "risk_group": None if group == "not_applicable" else group,
        "score": score,
        "schedule": schedule,
        "every_visit": list(profile.every_visit),
        "flags": flags,
        "notes": notes,
        "missing": missing,
        "source": dict(_source(profile_id)),
    }


@functools.cache
def _source(profile_id: str) -> dict[str, str]:
    """The profile's source as a dict, dumped once (callers get a copy)."""
    return load_profiles()[profile_id].source.model_dump()
