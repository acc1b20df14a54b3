"""The case a clinician brings to the tumour board: every field optional.

Why every field is optional: the engine must say which input a rule still needs
(`missing_inputs`) instead of refusing a half-filled case or guessing.  What *is* refused is
input that cannot be true — out-of-range numbers, unknown fields, dates in the future,
contradictions such as cM1 with no metastasis listed — and every such problem is reported
at once, named by its field path, so the user fixes the case in one pass.

Allowed ranges are those of the engine's input data model (e.g. age 0–120 years, sizes
1–400 mm); enumerations match the registry's vocabularies.
Tri-state answers (`yes | no | unknown`) treat "unknown" exactly like a missing value.
"""

from __future__ import annotations

import datetime as dt
import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from renalpath.clinical.common import ClinicalInputError, Problem
from renalpath.clinical.units import creatinine_to_mg_dl

YesNoUnknown = Literal["yes", "no", "unknown"]
Histology = Literal[
    "clear_cell", "papillary", "chromophobe", "oncocytoma", "angiomyolipoma", "other", "unknown"
]
InterventionType = Literal[  # the registry's intervention `type` vocabulary
    "partial_nephrectomy",
    "radical_nephrectomy",
    "cryoablation",
    "radiofrequency_ablation",
    "microwave_ablation",
    "active_surveillance",
    "systemic_therapy",
    "radiotherapy",
    "metastasectomy",
    "embolisation",
    "other",
]
MetSymptom = Literal["pain", "bleeding", "ulcerating", "stenosing", "neurological"]


class _Model(BaseModel):
    """Unknown fields are refused by name: a misspelt field must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Patient(_Model):
    age: int | None = Field(None, ge=0, le=120, description="years, 0–120")
    sex: Literal["male", "female"] | None = Field(None, description="sex used by eGFR equations")
    ecog: int | None = Field(None, ge=0, le=4, description="ECOG performance status 0–4")
    kps: int | None = Field(
        None, ge=0, le=100, multiple_of=10, description="Karnofsky %, 0–100 in steps of 10"
    )
    frail: bool | None = Field(None, description="frail or comorbid (clinician judgement)")
    fit_for_surgery: bool | None = Field(None, description="clinician judgement")
    life_expectancy_years: float | None = Field(None, ge=0, le=60, description="years")
    family_history_rcc: bool | None = Field(
        None, description="1st/2nd-degree relative with RCC or a known pathogenic variant"
    )
    declines_surgery: bool | None = Field(None, description="patient declines surgery")
    prefers_active_treatment: bool | None = Field(
        None, description="patient wants active treatment rather than surveillance"
    )
    competing_mortality_outweighs_benefit: bool | None = Field(
        None, description="clinician: intervention risk/competing mortality outweighs benefit"
    )


class Creatinine(_Model):
    value: float = Field(gt=0, description="serum creatinine (IDMS-traceable)")
    unit: str = Field(description="mg/dL or µmol/L (0.1–25 mg/dL = 8.84–2210 µmol/L)")


class Kidney(_Model):
    solitary_kidney: Literal["none", "anatomic", "functional"] | None = None
    bilateral_tumours: bool | None = Field(None, description="synchronous bilateral tumours")
    hereditary_syndrome: Literal["none", "suspected", "confirmed"] | None = None
    creatinine: Creatinine | None = None
    egfr: float | None = Field(
        None, ge=0, le=200, description="reported eGFR, mL/min/1.73 m² (used if no creatinine)"
    )
    proteinuria: bool | None = Field(None, description="ACR ≥ 30 mg/g")
    contralateral_normal: bool | None = None
    anticipated_postop_egfr: float | None = Field(
        None, ge=0, le=200, description="surgeon's estimate after RN, mL/min/1.73 m²"
    )


class Extension(_Model):
    """Imaging extension; an `extension` object that is present means unlisted flags are absent."""

    renal_vein: bool = False
    pelvicalyceal: bool = False
    perirenal_fat: bool = False
    sinus_fat: bool = False
    ivc_below_diaphragm: bool = False
    ivc_above_diaphragm: bool = False
    ivc_wall: bool = False
    beyond_gerota: bool = False
    adrenal_contiguous: bool = False


class RenalInputs(_Model):
    exophytic_pct: float | None = Field(None, ge=0, le=100, description="% (0 = endophytic)")
    nearness_mm: float | None = Field(None, ge=0, le=200, description="mm to collecting system")
    ap: Literal["a", "p", "x"] | None = None
    polar: Literal["outside", "crosses", "central"] | None = None
    hilar: bool | None = None


class PaduaInputs(_Model):
    exophytic_pct: float | None = Field(None, ge=0, le=100, description="%")
    polar: Literal["superior", "inferior", "middle"] | None = None
    rim: Literal["lateral", "medial"] | None = None
    sinus: bool | None = None
    ucs: bool | None = None
    face: Literal["a", "p"] | None = None


class Tumour(_Model):
    size_mm: int | None = Field(None, ge=1, le=400, description="greatest diameter, mm")
    side: Literal["left", "right"] | None = None
    histology: Histology | None = None
    biopsy: Literal["not_done", "done", "declined", "non_diagnostic"] | None = None
    central: bool | None = Field(None, description="centrally located (hilar/sinus)")
    multifocal: bool | None = None
    cn: Literal["N0", "N1", "NX"] | None = None
    cm: Literal["M0", "M1"] | None = None
    extension: Extension | None = None
    renal: RenalInputs | None = None
    padua: PaduaInputs | None = None
    symptomatic: bool | None = None
    symptoms: list[Literal["gross_haematuria", "flank_pain", "paraneoplastic"]] | None = None
    lesion_type: Literal["solid", "cystic"] | None = None
    bosniak: Literal["I", "II", "IIF", "III", "IV"] | None = None
    significant_solid_component: bool | None = None


class Bone(_Model):
    weight_bearing: bool | None = None
    site: Literal["upper_limb", "lower_limb", "peritrochanteric"] | None = None
    lesion: Literal["blastic", "mixed", "lytic"] | None = None
    cortical_fraction: Literal["lt_1_3", "1_3_to_2_3", "gt_2_3"] | None = None
    pain: Literal["mild", "moderate", "functional"] | None = None


class Metastasis(_Model):
    organ: (
        Literal[
            "lung",
            "bone",
            "brain",
            "liver",
            "lymph_node",
            "adrenal",
            "pancreas",
            "soft_tissue",
            "skin",
            "contralateral_kidney",
            "other",
        ]
        | None
    ) = None
    count: int | None = Field(None, ge=1, le=1000, description="lesions at this site")
    size_mm: int | None = Field(None, ge=1, le=400, description="largest lesion, mm")
    resectable: bool | None = Field(None, description="complete local treatment achievable")
    synchronous: bool | None = Field(None, description="present at diagnosis of the primary")
    symptoms: list[MetSymptom] | None = None
    bone: Bone | None = None
    date: dt.date | None = Field(None, description="date detected (for disease-free interval)")
    resection: Literal["none", "r0", "r1", "r2"] | None = Field(
        None, description="already operated: resection status"
    )


class Systemic(_Model):
    needs_systemic_therapy: YesNoUnknown | None = None
    on_therapy: bool | None = Field(None, description="currently receiving systemic therapy")
    responding: bool | None = Field(None, description="clinical benefit on systemic therapy")
    io_contraindicated: bool | None = None
    dx_to_systemic_days: int | None = Field(None, ge=0, le=36500, description="days")
    kps: int | None = Field(None, ge=0, le=100, multiple_of=10, description="Karnofsky %")
    hb_below_lln: bool | None = None
    calcium_corrected_above_uln: bool | None = None
    calcium_corrected_above_10_mg_dl: bool | None = None
    neutrophils_above_uln: bool | None = None
    platelets_above_uln: bool | None = None
    ldh_above_1_5_uln: bool | None = None


class PriorTreatment(_Model):
    type: InterventionType | None = None
    date: dt.date | None = None
    failure: Literal["none", "residual", "recurrence"] | None = None
    failure_site: (
        Literal["ablation_zone", "resection_bed", "remote_same_kidney", "renal_fossa"] | None
    ) = None
    failure_date: dt.date | None = Field(None, description="date the failure was detected")
    lesion_size_mm: int | None = Field(None, ge=1, le=400, description="mm")
    reablation_feasible: bool | None = Field(
        None, description="the lesion can be (re-)ablated percutaneously (size aside)"
    )


class Pathology(_Model):
    histology: Histology | None = None
    pt: Literal["pT1a", "pT1b", "pT2a", "pT2b", "pT3a", "pT3b", "pT3c", "pT4"] | None = None
    pn: Literal["pNX", "pN0", "pN1"] | None = None
    pm: Literal["M0", "M1"] | None = Field(None, description="M status at surgery")
    ned: bool | None = Field(None, description="no evidence of disease after surgery")
    size_mm: int | None = Field(None, ge=1, le=400, description="mm")
    isup_grade: int | None = Field(None, ge=1, le=4)
    necrosis: bool | None = None
    sarcomatoid: bool | None = None
    margin: Literal["negative", "positive", "not_applicable"] | None = None
    treatment: Literal["partial_nephrectomy", "radical_nephrectomy"] | None = None
    date: dt.date | None = Field(None, description="date of surgery")


class Surgeon(_Model):
    pn_feasible: YesNoUnknown | None = None
    mis_compromises_outcome: bool | None = Field(
        None, description="a minimally invasive approach would compromise outcome"
    )
    complete_resection_feasible: bool | None = None


class Site(_Model):
    ablation_modalities: list[Literal["cryo", "rfa", "mwa"]] | None = None


class Case(_Model):
    """One patient's situation.  `as_of` is the decision date (default: today)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    as_of: dt.date | None = Field(None, description="date of the decision (default today)")
    patient: Patient | None = None
    kidney: Kidney | None = None
    tumour: Tumour | None = None
    metastases: list[Metastasis] | None = Field(None, description="[] means: none")
    systemic: Systemic | None = None
    prior_treatment: PriorTreatment | None = None
    pathology: Pathology | None = None
    surgeon: Surgeon | None = None
    site: Site | None = None


class CaseValidationError(ClinicalInputError):
    """The case was refused; `problems` lists every reason, each named by its field path."""


def case_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the case, as `renalpath schema case` prints it."""
    schema = Case.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


# ----------------------------------------------------------------------------- validation


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


_HINTS = {
    "size_mm": "sizes are in millimetres (a 3.5 cm tumour is 35)",
    "ecog": "ECOG is 0–4 (5 = dead is not a valid input)",
    "kps": "Karnofsky is a percentage in steps of 10",
}


def _problem_from_error(err: Mapping[str, Any]) -> Problem:
    loc = tuple(err.get("loc", ()))
    path = _path(loc)
    if err.get("type") == "extra_forbidden":
        return Problem(path, err.get("input"), "a field of the case schema", "unknown field")
    last = str(loc[-1]) if loc else ""
    return Problem(path, err.get("input"), str(err.get("msg", "")), _HINTS.get(last))


@functools.cache
def _parts(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def _get(data: object, path: str) -> object:
    cur = data
    for part in _parts(path):
        if type(cur) is not dict and not isinstance(cur, Mapping):
            return None
        cur = cur.get(part)
    return cur


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


# cM1 with `metastases: []` says "metastatic" and "no metastases" at once: refused.  cM1 with
# the metastases left out is incomplete, not contradictory (a registry knows the M category
# before the sites are entered): accepted, and the options that depend on the sites are
# blocked on `metastases`.
_M1_RULE = "M1 with the metastases listed, or with metastases left out while not yet known"

_DATE_PATHS = ("as_of", "prior_treatment.date", "prior_treatment.failure_date", "pathology.date")


def _cross_field_problems(data: Mapping[str, Any], today: dt.date) -> list[Problem]:
    """Contradictions between fields; works on the raw input so it runs even if a field is bad."""
    problems: list[Problem] = []
    as_of = _as_date(data.get("as_of")) or today
    dated: list[tuple[str, dt.date]] = []
    for path in _DATE_PATHS:
        d = _as_date(_get(data, path))
        if d is not None:
            dated.append((path, d))
    mets = data.get("metastases")
    met_list = mets if isinstance(mets, list) else []
    for i, met in enumerate(met_list):
        d = _as_date(_get(met, "date"))
        if d is not None:
            dated.append((f"metastases[{i}].date", d))
    for path, d in dated:
        if d > today:
            problems.append(
                Problem(path, d.isoformat(), f"a date on or before today ({today})", "in future")
            )
        elif path != "as_of" and d > as_of:
            problems.append(
                Problem(path, d.isoformat(), f"on or before as_of ({as_of})", "after the decision")
            )

    cm = _get(data, "tumour.cm")
    synchronous = [
        i for i, m in enumerate(met_list) if isinstance(m, Mapping) and m.get("synchronous") is True
    ]
    if cm == "M1" and isinstance(mets, list) and not mets:
        problems.append(
            Problem("tumour.cm", cm, _M1_RULE, "metastases is given as an empty list (none)")
        )
    if cm == "M0":
        for i in synchronous:
            problems.append(
                Problem(
                    f"metastases[{i}].synchronous",
                    True,
                    "false when tumour.cm is M0",
                    "a synchronous metastasis means cM1",
                )
            )
    for i, met in enumerate(met_list):
        if not isinstance(met, Mapping):
            continue
        if met.get("bone") is not None and met.get("organ") not in (None, "bone"):
            problems.append(
                Problem(f"metastases[{i}].bone", met.get("bone"), "only when organ is bone")
            )

    if _get(data, "kidney.solitary_kidney") == "anatomic" and _get(
        data, "kidney.bilateral_tumours"
    ):
        problems.append(
            Problem(
                "kidney.bilateral_tumours",
                True,
                "false with an anatomically solitary kidney",
                "a single kidney cannot carry bilateral tumours",
            )
        )
    symptoms = _get(data, "tumour.symptoms")
    if _get(data, "tumour.symptomatic") is False and isinstance(symptoms, list) and symptoms:
        problems.append(
            Problem("tumour.symptoms", symptoms, "empty when tumour.symptomatic is false")
        )

    failure = _get(data, "prior_treatment.failure")
    if failure == "none":
        for name in ("failure_site", "failure_date"):
            if _get(data, f"prior_treatment.{name}") is not None:
                problems.append(
                    Problem(
                        f"prior_treatment.{name}",
                        _get(data, f"prior_treatment.{name}"),
                        "empty when prior_treatment.failure is none",
                    )
                )
    start = _as_date(_get(data, "prior_treatment.date"))
    found = _as_date(_get(data, "prior_treatment.failure_date"))
    if start and found and found < start:
        problems.append(
            Problem(
                "prior_treatment.failure_date",
                found.isoformat(),
                f"on or after prior_treatment.date ({start})",
                "failure detected before the treatment",
            )
        )

    creat = _get(data, "kidney.creatinine")
    if isinstance(creat, Mapping):
        value, unit = creat.get("value"), creat.get("unit")
        if isinstance(value, int | float) and not isinstance(value, bool) and isinstance(unit, str):
            try:
                creatinine_to_mg_dl(float(value), unit, field="kidney.creatinine")
            except ClinicalInputError as err:
                problems.extend(err.problems)
    return problems


def model_problems(case: Case, today: dt.date) -> list[Problem]:
    """`_cross_field_problems` for a case the model accepted, read from the model itself.

    Why a second form: every valid case of a registry audit goes through these checks, and
    reading typed attributes costs a fraction of walking the raw mapping.  It also sees the
    values as the engine will (a "true" the model coerced to True counts as True).  It must
    report exactly what the raw form reports on canonical JSON; tests/pathway compares the two.
    """
    problems: list[Problem] = []
    as_of = case.as_of or today
    tumour, kidney, pathology = case.tumour, case.kidney, case.pathology
    prior = case.prior_treatment
    dated: list[tuple[str, dt.date | None]] = [
        ("as_of", case.as_of),
        ("prior_treatment.date", prior.date if prior else None),
        ("prior_treatment.failure_date", prior.failure_date if prior else None),
        ("pathology.date", pathology.date if pathology else None),
    ]
    mets = case.metastases or []
    dated.extend((f"metastases[{i}].date", m.date) for i, m in enumerate(mets) if m.date)
    for path, d in dated:
        if d is None:
            continue
        if d > today:
            problems.append(
                Problem(path, d.isoformat(), f"a date on or before today ({today})", "in future")
            )
        elif path != "as_of" and d > as_of:
            problems.append(
                Problem(path, d.isoformat(), f"on or before as_of ({as_of})", "after the decision")
            )

    cm = tumour.cm if tumour else None
    if cm == "M1" and case.metastases is not None and not case.metastases:
        problems.append(
            Problem("tumour.cm", cm, _M1_RULE, "metastases is given as an empty list (none)")
        )
    if cm == "M0":
        problems.extend(
            Problem(
                f"metastases[{i}].synchronous",
                True,
                "false when tumour.cm is M0",
                "a synchronous metastasis means cM1",
            )
            for i, m in enumerate(mets)
            if m.synchronous is True
        )
    for i, m in enumerate(mets):
        if m.bone is not None and m.organ not in (None, "bone"):
            bone = m.bone.model_dump(exclude_unset=True)
            problems.append(Problem(f"metastases[{i}].bone", bone, "only when organ is bone"))

    if kidney is not None and kidney.solitary_kidney == "anatomic" and kidney.bilateral_tumours:
        problems.append(
            Problem(
                "kidney.bilateral_tumours",
                True,
                "false with an anatomically solitary kidney",
                "a single kidney cannot carry bilateral tumours",
            )
        )
    if tumour is not None and tumour.symptomatic is False and tumour.symptoms:
        problems.append(
            Problem("tumour.symptoms", tumour.symptoms, "empty when tumour.symptomatic is false")
        )

    if prior is not None:
        if prior.failure == "none":
            given = (
                ("failure_site", prior.failure_site),
                ("failure_date", prior.failure_date and prior.failure_date.isoformat()),
            )
            problems.extend(
                Problem(
                    f"prior_treatment.{name}", value, "empty when prior_treatment.failure is none"
                )
                for name, value in given
                if value is not None
            )
        if prior.date and prior.failure_date and prior.failure_date < prior.date:
            problems.append(
                Problem(
                    "prior_treatment.failure_date",
                    prior.failure_date.isoformat(),
                    f"on or after prior_treatment.date ({prior.date})",
                    "failure detected before the treatment",
                )
            )

    creat = kidney.creatinine if kidney else None
    if creat is not None:
        try:
            creatinine_to_mg_dl(creat.value, creat.unit, field="kidney.creatinine")
        except ClinicalInputError as err:
            problems.extend(err.problems)
    return problems


def parse_case(data: object, today: dt.date | None = None) -> Case:
    """Validate a case; raise CaseValidationError listing every problem by field path.

    An already validated `Case` is returned as it is (no second validation).
    """
    if isinstance(data, Case):
        return data
    if not isinstance(data, Mapping):
        raise CaseValidationError(Problem("(case)", type(data).__name__, "a JSON object"))
    day = today or dt.date.today()
    try:
        case = Case.model_validate(data)
    except ValidationError as err:
        problems = [_problem_from_error(e) for e in err.errors()]
        problems.extend(_cross_field_problems(data, day))  # still report them all at once
        raise CaseValidationError(problems) from None
    problems = model_problems(case, day)
    if problems:
        raise CaseValidationError(problems)
    return case


# ------------------------------------------------------------------ field registry (paths)


@dataclass(frozen=True)
class FieldKind:
    """What a condition may compare a case path with (checked when packs load)."""

    kind: str  # bool | number | enum | date | list | object | text
    choices: tuple[str, ...] = ()


ITEM_PREFIX = "met."  # paths inside one metastasis, for rules with for_each: metastases


def _unwrap(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(args[0]) if len(args) == 1 else annotation
    return annotation


def _kind_of(annotation: Any) -> FieldKind:
    ann = _unwrap(annotation)
    origin = typing.get_origin(ann)
    if origin is Literal:
        return FieldKind("enum", tuple(str(a) for a in typing.get_args(ann)))
    if origin is list:
        inner = _unwrap(typing.get_args(ann)[0])
        if typing.get_origin(inner) is Literal:
            return FieldKind("list", tuple(str(a) for a in typing.get_args(inner)))
        return FieldKind("list")
    if ann is bool:
        return FieldKind("bool")
    if ann in (int, float):
        return FieldKind("number")
    if ann is dt.date:
        return FieldKind("date")
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return FieldKind("object")
    return FieldKind("text")


def _walk(model: type[BaseModel], prefix: str, out: dict[str, FieldKind]) -> None:
    for name, info in model.model_fields.items():
        path = prefix + name
        kind = _kind_of(info.annotation)
        out[path] = kind
        ann = _unwrap(info.annotation)
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            _walk(ann, path + ".", out)
        elif typing.get_origin(ann) is list:
            inner = _unwrap(typing.get_args(ann)[0])
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                _walk(inner, ITEM_PREFIX, out)


def case_fields() -> dict[str, FieldKind]:
    """Every dotted path of the case (and `met.*` for one metastasis) with its kind."""
    out: dict[str, FieldKind] = {}
    _walk(Case, "", out)
    return out


TRI_STATE_PATHS = frozenset(
    p
    for p, k in case_fields().items()
    if k.kind == "enum" and k.choices == ("yes", "no", "unknown")
)
