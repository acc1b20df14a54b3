"""Follow-up plan after treatment of localised RCC, from versioned profiles (profiles/*.yaml).

Why profiles are data: the schedule is the part of a guideline most likely to change, and the
current EAU table could only be recalled, not read (a second search of the guideline's
follow-up page again found only its introduction).  Swapping a profile file must change the
plan without touching code, and every plan names the profile id, version, status and
verification level it came from.  See docs/follow-up.md.

Rules this module holds, so that no caller has to remember them:
- After partial or radical nephrectomy the live EAU profile applies; after thermal ablation the
  Delphi post-ablation profile.  A superseded profile is used only when asked for by id and is
  then flagged `superseded_profile`.
- Every visit is anchored to the treatment date: month m is the treatment date plus m calendar
  months, and with a decision date (`as_of`, else today) visits already past are left out of
  the plan — a nephrectomy four years ago starts at the month-48 visit, not at month 6.
- Metastatic or recurrent disease gets no localised schedule: imaging is then set by the
  team treating the metastases or the recurrence.
- A positive surgical margin moves the plan one risk group up (intensified imaging).  The
  advice to intensify is the EAU's (`MARGIN_SOURCES`); the one-group step is ours [P].
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from renalpath.pathway.case import Case
from renalpath.pathway.conditions import PackError
from renalpath.pathway.derive import Derived

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
SURGERY_PROFILE = "eau-fu-current"
ABLATION_PROFILE = "delphi-post-ablation"
DEFAULT_PROFILE = SURGERY_PROFILE

RiskGroup = Literal["low", "intermediate", "high", "all"]
Treatment = Literal["partial_nephrectomy", "radical_nephrectomy", "thermal_ablation"]
_ABLATIONS = frozenset({"cryoablation", "radiofrequency_ablation", "microwave_ablation"})
_SURGERY = frozenset({"partial_nephrectomy", "radical_nephrectomy"})
_STEP_UP = {"low": "intermediate", "intermediate": "high", "high": "high"}
_BENIGN = frozenset({"oncocytoma", "angiomyolipoma"})

# Why a positive margin changes the schedule, and on whose word.  The EAU 2021 update lists
# "intensify follow-up in patients with a positive surgical margin" [S: read via the Action
# Kidney Cancer summary of that update]; a review of positive margins after partial
# nephrectomy concludes the same (close surveillance of the kidney, not immediate
# re-intervention) [V: abstract].  How much to intensify is not stated in either: moving one
# risk group up is this project's rule [P].
MARGIN_SOURCES: tuple[dict[str, str], ...] = (
    {
        "title": "EAU Guidelines on Renal Cell Carcinoma (2021 edition) — intensify follow-up "
        "after a positive surgical margin",
        "section": "read via Action Kidney Cancer: Updates to the EAU guidelines for RCC (2021), "
        "https://actionkidneycancer.org/updates-to-the-european-association-of-urology-eau-"
        "guidelines-for-renal-cell-carcinoma/",
        "url": "https://uroweb.org/guidelines/renal-cell-carcinoma",
        "verification": "S",
    },
    {
        "title": "Positive surgical margins in nephron-sparing surgery: risk factors and "
        "therapeutic consequences. World J Surg Oncol 2014;12:252",
        "section": "DOI 10.1186/1477-7819-12-252; abstract: close surveillance, not immediate "
        "re-intervention",
        "url": "https://pmc.ncbi.nlm.nih.gov/articles/PMC4249770/",
        "verification": "V",
    },
    {
        "title": "renalpath project default (local decision, configurable; not from a guideline)",
        "section": "a positive margin moves the plan one risk group up",
        "url": "",
        "verification": "P",
    },
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Visit(_Strict):
    month: int = Field(ge=1, le=240)
    imaging: str


class GroupSchedule(_Strict):
    verification: Literal["V", "S", "R", "B", "P"]
    visits: list[Visit] = Field(min_length=1)
    after_5_years: str
    note: str = ""


class ProfileSource(_Strict):
    title: str
    section: str = ""
    url: str = ""


class Profile(_Strict):
    id: str
    version: str
    title: str
    status: Literal["live", "superseded"]
    superseded_by: str = ""
    verification: Literal["V", "S", "R", "B", "P"]
    applies_to: list[Treatment] = Field(min_length=1)
    risk_model: Literal["leibovich", "leibovich_or_stage_grade", "none"]
    source: ProfileSource
    retrieved: str
    risk_groups: dict[str, str] = Field(default_factory=dict)
    imaging: str
    groups: dict[RiskGroup, GroupSchedule]
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
        if profile.status == "superseded" and profile.superseded_by not in {
            p.stem for p in PROFILE_DIR.glob("*.yaml")
        }:
            raise PackError(f"{path.name}: superseded_by must name another profile")
        out[profile.id] = profile
    return out


def add_months(start: dt.date, months: int) -> dt.date:
    """`start` plus whole calendar months, clamped to the month's end (31 Jan + 1 → 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def followup_applies(case: Case) -> bool:
    """A plan exists after surgery (pathology recorded) or after a thermal ablation."""
    prior = case.prior_treatment
    return case.pathology is not None or (prior is not None and prior.type in _ABLATIONS)


def _treatment(case: Case) -> tuple[str | None, dt.date | None]:
    """What was done and when: the operation of the pathology report, else the prior treatment."""
    path, prior = case.pathology, case.prior_treatment
    if path is not None:
        when = path.date
        if when is None and prior is not None and prior.type in _SURGERY:
            when = prior.date
        what = path.treatment or (prior.type if prior and prior.type in _SURGERY else None)
        return what or "surgery", when
    if prior is not None and prior.type in _ABLATIONS:
        return "thermal_ablation", prior.date
    return None, None


def _stage_grade_group(case: Case) -> tuple[str | None, list[str]]:
    """Non-clear-cell risk group by stage and grade (recalled EAU grouping) [R]."""
    path = case.pathology
    assert path is not None
    if path.pn == "pN1":
        return "high", []
    if path.pt is None:
        return None, ["pathology.pt"]
    if not path.pt.startswith("pT1"):
        return "high", []
    missing = [
        p
        for p, v in (("pathology.isup_grade", path.isup_grade), ("pathology.pn", path.pn))
        if v is None
    ]
    if missing:
        return None, missing
    assert path.isup_grade is not None
    return ("low" if path.isup_grade <= 2 else "intermediate"), []


def _not_localised(case: Case, d: Derived) -> str | None:
    """Why no localised schedule applies (metastatic or recurrent disease), or None."""
    v = d.values
    path = case.pathology
    if v.get("derived.route_salvage"):
        return "recurrence or residual disease after treatment"
    if v.get("derived.metastatic") or (path is not None and path.pm == "M1"):
        return "metastatic disease"
    if path is not None and path.ned is False:
        return "disease left after surgery"
    return None


def followup_plan(case: Case, d: Derived, profile_id: str | None = None) -> dict[str, Any] | None:
    """The follow-up plan for a treated case, or None when the case records no treatment."""
    what, when = _treatment(case)
    if what is None:
        return None
    chosen = profile_id or (ABLATION_PROFILE if what == "thermal_ablation" else SURGERY_PROFILE)
    profile = load_profiles()[chosen]
    flags: list[str] = []
    notes: list[str] = []
    missing: list[str] = []
    if profile.status == "superseded":
        flags.append("superseded_profile")
        notes.append(
            f"profile {profile.id} is superseded by {profile.superseded_by}; not a live plan"
        )
    if profile.verification == "R":
        flags.append("needs_verification")
        notes.append(
            "schedule recalled, not read from the guideline: a clinician must check it against "
            "the current table before use"
        )
    plan: dict[str, Any] = {
        "profile": {
            "id": profile.id,
            "version": profile.version,
            "title": profile.title,
            "status": profile.status,
        },
        "verification": profile.verification,
        # The model actually used, set once the histology is known (None when not risk-based).
        "risk_model": None,
        "risk_group": None,
        "score": None,
        "treatment": what,
        "schedule": None,
        "every_visit": list(profile.every_visit),
        "flags": flags,
        "notes": notes,
        "missing": missing,
        "source": dict(_source(profile.id)),
    }

    reason = _not_localised(case, d)
    if reason is not None:
        flags.append("no_localised_schedule")
        notes.append(
            f"{reason}: no localised follow-up schedule; imaging is planned by the team "
            "treating the metastases or the recurrence"
        )
        return plan

    group: str | None
    if profile.risk_model == "none":
        group = "all"
    else:
        group, score, group_missing, histology = _risk_group(case, d, profile.risk_model)
        plan["score"] = score
        if histology in _BENIGN:
            notes.append(f"{histology} is benign: no cancer follow-up schedule")
            return plan
        if group is None:
            missing.extend(group_missing)
            flags.append("risk_group_undetermined")
            return plan
        plan["risk_group"] = group
        plan["risk_model"] = "leibovich" if histology == "clear_cell" else "stage_grade"
    margin = case.pathology.margin if case.pathology is not None else None
    if margin == "positive" and group != "all":
        flags.append("intensified_followup")
        stepped = _STEP_UP[group]
        notes.append(
            "positive surgical margin: imaging intensified to the "
            f"{stepped}-risk schedule rather than re-operating (EAU 2021: intensify follow-up "
            "after a positive margin [S]; moving one risk group up is a project rule [P])"
        )
        group = stepped
        plan["schedule_group"] = stepped
        plan["rule_sources"] = [dict(src) for src in MARGIN_SOURCES]
    plan["schedule"] = _schedule(profile, group, when, d, notes, missing)
    notes.append("individualise when competing (non-RCC) mortality exceeds recurrence risk")
    return plan


def _risk_group(
    case: Case, d: Derived, model: str
) -> tuple[str | None, int | None, list[str], str | None]:
    """(group, score, missing inputs, histology) — Leibovich for clear cell, else stage/grade."""
    histology = d.values.get("derived.histology")
    if histology is None:
        return None, None, ["pathology.histology"], None
    if histology in _BENIGN:
        return None, None, [], histology
    if histology == "clear_cell":
        group = d.values.get("derived.leibovich_group")
        score = d.values.get("derived.leibovich_score")
        if group is None:
            return None, None, list(d.missing.get("leibovich_group", ("pathology",))), histology
        return str(group), score, [], histology
    if model == "leibovich":
        return None, None, [], histology
    group_sg, missing = _stage_grade_group(case)
    return group_sg, None, missing, histology


def _schedule(
    profile: Profile,
    group: str,
    when: dt.date | None,
    d: Derived,
    notes: list[str],
    missing: list[str],
) -> dict[str, Any]:
    """The group's visits anchored to the treatment date; past visits left out of `visits`."""
    g = profile.groups[group]  # type: ignore[index]
    if g.note:
        notes.append(g.note)
    out: dict[str, Any] = {
        "group": group,
        "verification": g.verification,
        "treatment_date": when.isoformat() if when else None,
        "as_of": None,
        "visits": [],
        "past_visits": 0,
        "after_5_years": g.after_5_years,
        "imaging_key": profile.imaging,
    }
    if when is None:
        missing.append(
            "pathology.date" if profile.id != ABLATION_PROFILE else "prior_treatment.date"
        )
        notes.append("months are counted from the treatment date; give it to get calendar dates")
        out["visits"] = [{"month": v.month, "imaging": v.imaging} for v in g.visits]
        return out
    elapsed = d.values.get("derived.days_since_surgery")
    as_of = when + dt.timedelta(days=int(elapsed)) if elapsed is not None else None
    out["as_of"] = as_of.isoformat() if as_of else None
    for v in g.visits:
        date = add_months(when, v.month)
        if as_of is not None and date < as_of:
            out["past_visits"] += 1
            continue
        out["visits"].append({"month": v.month, "imaging": v.imaging, "date": date.isoformat()})
    if out["past_visits"] and not out["visits"]:
        notes.append(f"scheduled visits completed; from now on: {g.after_5_years}")
    elif out["past_visits"]:
        notes.append(
            f"{out['past_visits']} visit(s) before {out['as_of']} are past; the plan starts at "
            f"month {out['visits'][0]['month']}"
        )
    return out


@functools.cache
def _source(profile_id: str) -> dict[str, str]:
    """The profile's source as a dict, dumped once (callers get a copy)."""
    return load_profiles()[profile_id].source.model_dump()
