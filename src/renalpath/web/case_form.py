"""The case-evaluation form: sections generated from the pathway's Case model, plus the
derived values shown while typing (computed by the calculators themselves).

Sections follow the tumour-board order clinicians asked for (tumour, kidney function, general
condition, metastases, earlier treatment); post-operative pathology, systemic-therapy risk
factors, surgeon and site answers follow.  Metastases get a fixed number of rows because a
server-rendered form without JavaScript cannot add rows; blank rows are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from renalpath.clinical import egfr as egfr_mod
from renalpath.clinical import imdc as imdc_mod
from renalpath.clinical import nephrometry, staging
from renalpath.clinical import performance_status as ps_mod
from renalpath.clinical.common import ClinicalInputError, Problem
from renalpath.pathway import recommend
from renalpath.pathway.case import (
    Bone,
    Case,
    Kidney,
    Metastasis,
    Pathology,
    Patient,
    PriorTreatment,
    Site,
    Surgeon,
    Systemic,
    Tumour,
)
from renalpath.web import labels
from renalpath.web.forms import (
    NONE,
    PRESENT,
    FieldGroup,
    FormField,
    field_for,
    fields_of,
    form_to_data,
    groups_of,
    set_path,
)

METASTASIS_ROWS = 3

# Performance status is asked once.  The case model has three inputs for it (patient ECOG,
# patient KPS, and a KPS for IMDC under `systemic`); the form has one choice that names its
# scale, and fills exactly one of them.  Karnofsky is offered first (IMDC and MSKCC were built
# on it); ECOG is for a patient whose Karnofsky was not assessed, because the scales do not
# convert exactly (clinical.performance_status) and a converted ECOG 1 would have to guess
# which side of KPS 80 it falls.  KPS 0 (dead) is not a status to score, as ECOG 5 is not.
PS_FIELD_NAME = "patient.performance_status"
PS_CASE_PATHS = ("patient.kps", "patient.ecog", "systemic.kps")
PS_CHOICES = (
    *(f"kps:{k}" for k in range(100, 0, -10)),
    *(f"ecog:{e}" for e in range(5)),
)
PS_FIELD = FormField(
    PS_FIELD_NAME,
    "Performance status",
    "select",
    PS_CHOICES,
    help="Karnofsky if it was assessed; otherwise ECOG (the scales do not convert exactly)",
)
STATUS_ORDER = ("recommended", "alternative", "discuss", "not_recommended", "blocked_missing_input")
STATUS_LABEL = {
    "recommended": "Recommended",
    "alternative": "Alternative",
    "discuss": "Discuss",
    "not_recommended": "Not recommended",
    "blocked_missing_input": "Needs more information",
}


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    groups: tuple[FieldGroup, ...]

    @property
    def fields(self) -> list[FormField]:
        return [f for g in self.groups for f in g.fields]


def _metastasis_groups() -> list[FieldGroup]:
    groups: list[FieldGroup] = []
    for i in range(METASTASIS_ROWS):
        prefix = f"metastases[{i}]."
        groups.append(FieldGroup(f"Metastasis {i + 1}", tuple(fields_of(Metastasis, prefix))))
        groups.append(
            FieldGroup(
                f"Metastasis {i + 1} — bone lesion", tuple(fields_of(Bone, prefix + "bone."))
            )
        )
    return groups


def _one_performance_status(groups: list[FieldGroup]) -> tuple[FieldGroup, ...]:
    """The groups without the model's performance-status inputs; the one field in their place."""
    out = []
    for g in groups:
        fields: list[FormField] = []
        for f in g.fields:
            if f.name == "patient.ecog":
                fields.append(PS_FIELD)
            elif f.name not in PS_CASE_PATHS:
                fields.append(f)
        out.append(FieldGroup(g.title, tuple(fields)))
    return tuple(out)


def build_sections() -> tuple[Section, ...]:
    as_of = field_for("as_of", Case.model_fields["as_of"])
    assert as_of is not None
    sections = _build_sections(as_of)
    return tuple(Section(s.key, s.title, _one_performance_status(list(s.groups))) for s in sections)


def _build_sections(as_of: FormField) -> tuple[Section, ...]:
    return (
        Section("tumour", "Tumour", tuple(groups_of(Tumour, "tumour.", "Tumour"))),
        Section("kidney", "Kidney function", tuple(groups_of(Kidney, "kidney.", "Kidney"))),
        Section("patient", "General condition", tuple(groups_of(Patient, "patient.", "Patient"))),
        Section("metastases", "Metastases", tuple(_metastasis_groups())),
        Section(
            "prior_treatment",
            "Earlier treatment",
            tuple(groups_of(PriorTreatment, "prior_treatment.", "Earlier treatment")),
        ),
        Section(
            "systemic",
            "Systemic therapy and risk factors",
            tuple(groups_of(Systemic, "systemic.", "Systemic")),
        ),
        Section(
            "pathology",
            "Pathology (post-operative case)",
            tuple(groups_of(Pathology, "pathology.", "Pathology")),
        ),
        Section(
            "decision",
            "Surgeon, site and date",
            (
                *groups_of(Surgeon, "surgeon.", "Surgeon"),
                *groups_of(Site, "site.", "Site"),
                FieldGroup("Decision date", (as_of,)),
            ),
        ),
    )


# Free-text fields of the Case model that the form offers as a choice (the model accepts the
# spellings the calculators accept; the form offers the canonical ones).
CHOICES = {"kidney.creatinine.unit": ("mg/dL", "µmol/L")}


def _form_label(f: FormField) -> str:
    """The clinical label of a case input, without the group's own name repeated."""
    label = labels.FIELDS.get(re.sub(r"\[\d+\]", "", f.name))
    if label is None:
        return f.label
    for prefix in ("Metastasis: ", "Bone: "):
        if label.startswith(prefix):
            label = label.removeprefix(prefix)
            return label[:1].upper() + label[1:]
    return label


def _relabel(f: FormField) -> FormField:
    # the model's descriptions cite range sources by section mark; the form shows the words only
    help_text = re.sub(r"\s*[\[(]\u00a7[^\])]*[\])]", "", f.help)
    f = replace(f, label=_form_label(f), help=help_text)
    if f.name in CHOICES:
        f = replace(f, kind="select", choices=CHOICES[f.name])
    return f


def _with_choices(section: Section) -> Section:
    groups = tuple(
        FieldGroup(g.title, tuple(_relabel(f) for f in g.fields)) for g in section.groups
    )
    return Section(section.key, section.title, groups)


SECTIONS = tuple(_with_choices(s) for s in build_sections())
ALL_FIELDS: tuple[FormField, ...] = tuple(f for s in SECTIONS for f in s.fields)


def _lookup(data: Any, path: str) -> Any:
    cur = data
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            idx = int(part[1:-1])
            cur = cur[idx] if isinstance(cur, list) and idx < len(cur) else None
        else:
            cur = cur.get(part) if isinstance(cur, dict) else None
        if cur is None:
            return None
    return cur


def performance_status_value(case: dict[str, Any]) -> str:
    """The one form value for a case's performance status ("kps:80", "ecog:1" or "").

    Karnofsky wins when a case (from the API or an older form) has both, as it does in the
    engine; `performance_status_note` says what the form then leaves out.
    """
    kps = _lookup(case, "systemic.kps")
    kps = kps if kps is not None else _lookup(case, "patient.kps")
    if kps is not None and not isinstance(kps, bool):
        return f"kps:{_int_text(kps)}"
    ecog = _lookup(case, "patient.ecog")
    if ecog is not None and not isinstance(ecog, bool):
        return f"ecog:{_int_text(ecog)}"
    return ""


def performance_status_note(case: dict[str, Any]) -> str | None:
    """Words for what the one field cannot hold of `case` (two scales, or two KPS values)."""
    given = {p: _lookup(case, p) for p in PS_CASE_PATHS}
    given = {p: v for p, v in given.items() if v is not None}
    if len(given) < 2:
        return None
    kept = labels.choice(PS_FIELD_NAME, performance_status_value(case))
    words = {
        "patient.kps": "Karnofsky {} %",
        "patient.ecog": "ECOG {}",
        "systemic.kps": "Karnofsky {} % (for IMDC)",
    }
    listed = ", ".join(words[p].format(_int_text(v)) for p, v in given.items())
    return (
        f"This case records {listed}. The form keeps {kept} (the value the pathway uses); "
        "saving from the form stores only that."
    )


def _int_text(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def form_data(form: Any) -> tuple[dict[str, Any], list[Problem]]:
    """Case data and input problems from the submitted case form (the one performance-status
    choice becomes the case input of its scale)."""
    data, problems = form_to_data(form, ALL_FIELDS)
    raw = data.get("patient", {}).pop("performance_status", None)
    if raw is None:
        return data, problems
    scale, _, number = str(raw).partition(":")
    path = {"kps": "patient.kps", "ecog": "patient.ecog"}.get(scale)
    if path is None or not number.strip().lstrip("-").isdigit():
        problems.append(Problem(PS_FIELD_NAME, raw, "a Karnofsky % or an ECOG grade from the list"))
        return data, problems
    set_path(data, path, int(number))
    return data, problems


def values_from_case(case: dict[str, Any]) -> dict[str, Any]:
    """Form values (input name → text) for a nested case, e.g. one built from the registry."""
    out: dict[str, Any] = {}
    for f in ALL_FIELDS:
        if f.name == PS_FIELD_NAME:
            out[f.name] = performance_status_value(case)
            note = performance_status_note(case)
            if note:
                out[f.name + ":note"] = note
            continue
        if f.name.endswith(PRESENT):
            out[f.name] = (
                "true" if isinstance(_lookup(case, f.name[: -len(PRESENT) - 1]), dict) else ""
            )
            continue
        value = _lookup(case, f.name)
        if value is None:
            out[f.name] = [] if f.kind == "multi" else ""
        elif f.kind == "multi":
            items = [str(v) for v in value] if isinstance(value, list) else []
            out[f.name] = items or [NONE]  # an empty list states "none"
        elif isinstance(value, bool):
            out[f.name] = "true" if value else ("false" if f.kind == "tristate" else "")
        elif isinstance(value, float) and value.is_integer() and f.kind == "integer":
            out[f.name] = str(int(value))
        else:
            out[f.name] = str(value)
    return out


@dataclass(frozen=True)
class DerivedItem:
    label: str
    value: str | None  # None: not computable yet
    detail: str = ""
    needs: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


def _get(data: dict[str, Any], path: str) -> Any:
    cur: Any = data
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def _missing(data: dict[str, Any], paths: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(p for p in paths if _get(data, p) is None)


def derived_items(data: dict[str, Any]) -> list[DerivedItem]:
    """cT/stage, eGFR/CKD stage, RENAL and PADUA from what has been typed so far."""
    items: list[DerivedItem] = []

    needs = _missing(data, ("tumour.size_mm",))
    ext = _get(data, "tumour.extension")
    if needs:
        items.append(DerivedItem("cT (TNM 8)", None, needs=needs))
    else:
        try:
            extension = ext if isinstance(ext, dict) else {}
            t = staging.t_category(_get(data, "tumour.size_mm"), **extension)
            n, m = _get(data, "tumour.cn"), _get(data, "tumour.cm")
            detail = "" if isinstance(ext, dict) else "extension not assessed: T from size only"
            if n and m:
                group = staging.stage_group(t, n, m)
                items.append(DerivedItem("cT (TNM 8)", f"{t} {n} {m} — stage {group}", detail))
            else:
                missing = _missing(data, ("tumour.cn", "tumour.cm"))
                items.append(DerivedItem("cT (TNM 8)", t, detail, needs=missing))
        except ClinicalInputError as err:
            items.append(
                DerivedItem("cT (TNM 8)", None, problems=tuple(p.message() for p in err.problems))
            )

    egfr_paths = ("kidney.creatinine.value", "kidney.creatinine.unit", "patient.age", "patient.sex")
    needs = _missing(data, egfr_paths)
    if needs:
        reported = _get(data, "kidney.egfr")
        value = f"{reported} (reported)" if reported is not None else None
        items.append(DerivedItem("eGFR (CKD-EPI 2021)", value, needs=() if value else needs))
    else:
        try:
            r = egfr_mod.egfr(*(_get(data, p) for p in egfr_paths))
            items.append(
                DerivedItem(
                    "eGFR (CKD-EPI 2021)",
                    f"{r.egfr_rounded} mL/min/1.73 m² — CKD {r.ckd_stage}",
                    r.band,
                )
            )
        except ClinicalInputError as err:
            items.append(
                DerivedItem(
                    "eGFR (CKD-EPI 2021)", None, problems=tuple(p.message() for p in err.problems)
                )
            )

    items.append(performance_status_item(data))

    for label, fn, paths in (
        (
            "R.E.N.A.L.",
            nephrometry.renal_score,
            (
                "tumour.size_mm",
                "tumour.renal.exophytic_pct",
                "tumour.renal.nearness_mm",
                "tumour.renal.ap",
                "tumour.renal.polar",
                "tumour.renal.hilar",
            ),
        ),
        (
            "PADUA",
            nephrometry.padua_score,
            (
                "tumour.size_mm",
                "tumour.padua.exophytic_pct",
                "tumour.padua.polar",
                "tumour.padua.rim",
                "tumour.padua.sinus",
                "tumour.padua.ucs",
                "tumour.padua.face",
            ),
        ),
    ):
        needs = _missing(data, paths)
        if needs:
            items.append(DerivedItem(label, None, needs=needs))
            continue
        try:
            res = fn(*(_get(data, p) for p in paths))
            items.append(DerivedItem(label, res.label, res.band))
        except ClinicalInputError as err:
            items.append(
                DerivedItem(label, None, problems=tuple(p.message() for p in err.problems))
            )
    return items + risk_items(data)


def performance_status_item(data: dict[str, Any]) -> DerivedItem:
    """The one performance status, its conventional equivalent on the other scale (shown, never
    used), and how the pathway reads it: good status (KPS ≥ 80 % or ECOG 0–1, as the engine
    derives it) and the Karnofsky < 80 % factor of IMDC and MSKCC."""
    label = "Performance status"
    sysm = data.get("systemic") or {}
    kps = sysm.get("kps") if sysm.get("kps") is not None else _get(data, "patient.kps")
    ecog = _get(data, "patient.ecog")
    if kps is None and ecog is None:
        return DerivedItem(label, None, needs=(PS_FIELD_NAME,))
    try:
        factor = ps_mod.kps_factor(kps, ecog)
        if kps is not None:
            kps = ps_mod.check_kps(kps)
            value = f"Karnofsky {kps} %"
            other = ps_mod.ecog_equivalent(kps)
            about = f"about ECOG {other}" if other is not None else "no ECOG equivalent"
            good = kps >= ps_mod.KPS_CUTOFF
        else:
            ecog = ps_mod.check_ecog(ecog)
            value = f"ECOG {ecog}"
            low, high = ps_mod.kps_equivalent(ecog)
            about = f"about Karnofsky {low}–{high} %"
            good = ecog <= 1
    except ClinicalInputError as err:
        return DerivedItem(label, None, problems=tuple(p.message() for p in err.problems))
    if factor.present_alt is not None:
        reading = "Karnofsky < 80 % factor (IMDC, MSKCC) open: both readings are shown"
    else:
        state = "present" if factor.present else "absent"
        reading = f"Karnofsky < 80 % factor (IMDC, MSKCC) {state}"
    detail = (
        f"{about} on the conventional table (the scales do not convert exactly); "
        f"{'good' if good else 'reduced'} performance status; {reading}"
    )
    return DerivedItem(label, value, detail)


# IMDC factors in words (the calculator's component names → what the board reads).
IMDC_FACTORS = {
    "kps_lt_80": "Karnofsky below 80 %",
    "dx_to_tx_lt_1y": "less than 1 year from diagnosis to systemic therapy",
    "anaemia": "haemoglobin below the lower limit",
    "hypercalcaemia": "corrected calcium above the upper limit",
    "neutrophilia": "neutrophils above the upper limit",
    "thrombocytosis": "platelets above the upper limit",
}


def _imdc_factors(data: dict[str, Any]) -> str:
    """The IMDC factors present, as the calculator counted them (same inputs as the engine)."""
    sysm = data.get("systemic") or {}
    kps = sysm.get("kps") if sysm.get("kps") is not None else _get(data, "patient.kps")
    try:
        res = imdc_mod.imdc(
            kps=kps,
            ecog=_get(data, "patient.ecog"),
            dx_to_systemic_days=sysm.get("dx_to_systemic_days"),
            hb_below_lln=sysm.get("hb_below_lln"),
            calcium_corrected_above_uln=sysm.get("calcium_corrected_above_uln"),
            neutrophils_above_uln=sysm.get("neutrophils_above_uln"),
            platelets_above_uln=sysm.get("platelets_above_uln"),
            systemic_planned=sysm.get("needs_systemic_therapy") != "no",
        )
    except (ClinicalInputError, TypeError, ValueError):
        return ""
    present = [IMDC_FACTORS.get(k, labels.readable(k)) for k, v in res.components.items() if v]
    return "factors: " + ("; ".join(present) if present else "none")


def risk_items(data: dict[str, Any]) -> list[DerivedItem]:
    """IMDC, MSKCC, Mirels and Leibovich as the pathway engine computes them for this case.

    Shown only once the engine can compute them; a case the engine refuses shows none here
    (its refusals appear on the fields when it is evaluated).
    """
    try:
        derived = recommend(data).to_dict()["derived"]
    except (ClinicalInputError, ValueError, TypeError):
        return []
    items: list[DerivedItem] = []
    for key in ("imdc", "mskcc", "mirels", "leibovich"):
        value = derived.get(key)
        if not isinstance(value, dict):
            continue
        group = str(value.get("group", "")).replace("_", " ")
        text = f"{group} ({value['score']} points)" if value.get("score") is not None else group
        if value.get("group_alt"):
            text += f"; {value['group_alt']} if Karnofsky < 80 %"
        detail = _imdc_factors(data) if key == "imdc" else ""
        items.append(DerivedItem(labels.derived(key), text, detail))
    return items


def group_options(options: list[dict[str, Any]]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """Options grouped by status in a fixed order: (status, label, options)."""
    out = []
    for status in STATUS_ORDER:
        chosen = [o for o in options if o.get("status") == status]
        if chosen:
            out.append((status, STATUS_LABEL[status], chosen))
    return out
