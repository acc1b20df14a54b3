"""Flatten a case and derive what the rules reason on, always through renalpath.clinical.

Why a separate step: rules must compare stage, eGFR category, risk groups and scores that
the calculators own; computing them once per case (not once per rule) keeps evaluation fast
and makes the `derived` block of the result exactly what the rules saw.

A derived value the case cannot support is None, and `missing[name]` lists the case paths a
user must fill in to get it — the rule that needed it then reports those paths, never the
internal derived name.  Calculator refusals on a validated case (e.g. an eGFR for a
16-year-old) become notes, never exceptions.
"""

from __future__ import annotations

import datetime as dt
import functools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from renalpath.clinical.ckd import ckd_stage, round_half_up
from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.egfr import DEFAULT_EQUATION, egfr
from renalpath.clinical.imdc import imdc
from renalpath.clinical.leibovich import leibovich
from renalpath.clinical.mirels import (
    CORTICAL_POINTS,
    LESION_POINTS,
    PAIN_POINTS,
    SITE_POINTS,
    mirels,
)
from renalpath.clinical.mskcc import mskcc
from renalpath.clinical.nephrometry import padua_score, renal_score
from renalpath.clinical.score_range import ScoreRange, score_range
from renalpath.clinical.scores import ScoreResult
from renalpath.clinical.staging import stage_group, t_category
from renalpath.pathway.case import (
    ITEM_PREFIX,
    TRI_STATE_PATHS,
    Case,
    Extension,
    FieldKind,
    case_fields,
)
from renalpath.pathway.merge import extend_unique

# The calculators are pure functions of hashable arguments; registry batches repeat the same
# combinations constantly, so results are memoised (refusals are not cached: they re-raise).
_egfr = functools.lru_cache(maxsize=4096)(egfr)
_round_half_up = functools.lru_cache(maxsize=4096)(round_half_up)
_ckd_stage = functools.lru_cache(maxsize=4096)(ckd_stage)


@functools.lru_cache(maxsize=4096)
def _t_category(size_mm: int | None, extension: Extension) -> str | None:
    """cT from size and extension flags; None when the calculator refuses (no size).

    Keyed on the (frozen, hashable) extension object rather than nine keyword arguments,
    and the refusal is remembered too: a case without a size is common in a registry.
    """
    try:
        return t_category(size_mm, **extension.__dict__)
    except ClinicalInputError:
        return None


_stage_group = functools.lru_cache(maxsize=1024)(stage_group)
_renal_score = functools.lru_cache(maxsize=4096)(renal_score)
_padua_score = functools.lru_cache(maxsize=4096)(padua_score)


@functools.lru_cache(maxsize=4096)
def _leibovich(*args: Any) -> ScoreResult | tuple[str, ...]:
    """Leibovich score, or the pathology paths it still needs (refusals memoised too)."""
    try:
        return leibovich(*args)
    except ClinicalInputError as err:
        return tuple(f"pathology.{_LEIB.get(f, f)}" for f in err.fields)


_mirels = functools.lru_cache(maxsize=1024)(mirels)

_RISK_ORDER = {"favourable": 0, "intermediate": 1, "poor": 2}
_RISK_GROUPS = tuple(_RISK_ORDER)
_LOCAL_KIDNEY_TREATMENTS = frozenset(
    {
        "partial_nephrectomy",
        "radical_nephrectomy",
        "cryoablation",
        "radiofrequency_ablation",
        "microwave_ablation",
    }
)
_ABLATION_MODALITY = {
    "cryoablation": "cryo",
    "radiofrequency_ablation": "rfa",
    "microwave_ablation": "mwa",
}
_T_GROUP = {"T1a": "T1", "T1b": "T1", "T2a": "T2", "T2b": "T2"}

DERIVED_FIELDS: dict[str, FieldKind] = {
    "derived.ct": FieldKind("enum", ("T1a", "T1b", "T2a", "T2b", "T3a", "T3b", "T3c", "T4")),
    "derived.ct_group": FieldKind("enum", ("T1", "T2", "T3", "T4")),
    "derived.cn": FieldKind("enum", ("N0", "N1", "NX")),
    "derived.cm": FieldKind("enum", ("M0", "M1")),
    "derived.stage_group": FieldKind("enum", ("I", "II", "III", "IV")),
    "derived.egfr": FieldKind("number"),
    "derived.egfr_rounded": FieldKind("number"),
    "derived.ckd_stage": FieldKind("enum", ("G1", "G2", "G3a", "G3b", "G4", "G5")),
    "derived.renal_total": FieldKind("number"),
    "derived.padua_total": FieldKind("number"),
    "derived.high_complexity": FieldKind("bool"),
    "derived.imperative_nss": FieldKind("bool"),
    "derived.relative_nss": FieldKind("bool"),
    "derived.ckd_drives_nss": FieldKind("bool"),
    "derived.metastatic": FieldKind("bool"),
    "derived.route_primary": FieldKind("bool"),
    "derived.route_localised": FieldKind("bool"),
    "derived.route_synchronous_m1": FieldKind("bool"),
    "derived.route_salvage": FieldKind("bool"),
    "derived.route_postop": FieldKind("bool"),
    "derived.kps": FieldKind("number"),
    "derived.good_ps": FieldKind("bool"),
    "derived.fit": FieldKind("bool"),
    "derived.imdc_group": FieldKind("enum", ("favourable", "intermediate", "poor")),
    "derived.imdc_score": FieldKind("number"),
    "derived.mskcc_group": FieldKind("enum", ("favourable", "intermediate", "poor")),
    "derived.risk_group": FieldKind("enum", ("favourable", "intermediate", "poor")),
    "derived.histology": FieldKind(
        "enum",
        ("clear_cell", "papillary", "chromophobe", "oncocytoma", "angiomyolipoma", "other"),
    ),
    "derived.histology_known": FieldKind("bool"),
    "derived.met_total_count": FieldKind("number"),
    "derived.met_organ_count": FieldKind("number"),
    "derived.days_since_surgery": FieldKind("number"),
    "derived.prior_modality": FieldKind("enum", ("cryo", "rfa", "mwa", "pn", "rn", "other")),
    "derived.prior_is_ablation": FieldKind("bool"),
    "derived.days_to_failure": FieldKind("number"),
    "derived.leibovich_group": FieldKind("enum", ("low", "intermediate", "high", "not_applicable")),
    "derived.leibovich_score": FieldKind("number"),
    "derived.pt_group": FieldKind("enum", ("pT1", "pT2", "pT3", "pT4")),
}
ITEM_DERIVED_FIELDS: dict[str, FieldKind] = {
    ITEM_PREFIX + "mirels_score": FieldKind("number"),
    ITEM_PREFIX + "mirels_group": FieldKind(
        "enum", ("prophylactic_fixation", "clinical_judgement", "radiotherapy_or_observation")
    ),
    ITEM_PREFIX + "dfi_days": FieldKind("number"),
    ITEM_PREFIX + "symptomatic": FieldKind("bool"),
}


# Case paths that derive() copies into the flattened case but never computes anything from
# (and that no check between fields reads).  A case that differs only in these has the same
# derived values apart from the copied field itself, so trying values of a missing input
# among them (settle.py) needs no new derivation.  tests/pathway/test_safety_invariants.py
# checks this list against derive() itself.
PLAIN_PATHS = frozenset(
    {
        "surgeon.pn_feasible",
        "surgeon.mis_compromises_outcome",
        "surgeon.complete_resection_feasible",
        "patient.frail",
        "patient.life_expectancy_years",
        "patient.family_history_rcc",
        "patient.declines_surgery",
        "patient.prefers_active_treatment",
        "patient.competing_mortality_outweighs_benefit",
        "tumour.central",
        "tumour.biopsy",
        "tumour.lesion_type",
        "tumour.bosniak",
        "tumour.significant_solid_component",
        "kidney.contralateral_normal",
        "kidney.anticipated_postop_egfr",
        "systemic.on_therapy",
        "systemic.responding",
        "systemic.io_contraindicated",
        "prior_treatment.lesion_size_mm",
        "prior_treatment.reablation_feasible",
        "pathology.pm",
        "pathology.ned",
        "pathology.margin",
        "pathology.treatment",
        "pathology.sarcomatoid",
        "met.resectable",
        "met.size_mm",
        "met.resection",
    }
)


@dataclass
class Derived:
    """Flattened case + derived values, and what the user must add to get the missing ones."""

    values: dict[str, Any]
    missing: dict[str, tuple[str, ...]]
    items: list[dict[str, Any]] | None
    output: dict[str, Any]
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    work: _Work | None = None  # how derive() got there, to derive a changed case again


# "derived.X" keys, built once and interned: the packs' condition paths are interned too, so
# the rules' lookups in the flattened case hit on identity.
_DERIVED_KEY = {path.removeprefix("derived."): sys.intern(path) for path in DERIVED_FIELDS}
_MET_SYMPTOMATIC, _MET_MIRELS_SCORE, _MET_MIRELS_GROUP, _MET_DFI_DAYS = (
    sys.intern(ITEM_PREFIX + name)
    for name in ("symptomatic", "mirels_score", "mirels_group", "dfi_days")
)
_SYMPTOMATIC = sys.intern("tumour.symptomatic")
_MET_MIRELS_MISSING = sys.intern(ITEM_PREFIX + "mirels_missing")  # read by conditions.py
_BONE_PARTS = ("site", "pain", "lesion", "cortical_fraction")
_PLAIN, _MODEL, _TRI_STATE = 0, 1, 2
_CASE_FIELDS = case_fields()


@functools.cache
def _plan(cls: type[BaseModel], prefix: str) -> tuple[tuple[str, str, int], ...]:
    """(field, dotted path, kind) for each field of a case model class, worked out once."""
    kinds = _CASE_FIELDS
    out = []
    for name in cls.model_fields:
        path = sys.intern(prefix + name)  # interned, as are the packs' paths (dict lookups)
        if kinds[path].kind == "object":
            out.append((name, path, _MODEL))
        else:
            out.append((name, path, _TRI_STATE if path in TRI_STATE_PATHS else _PLAIN))
    return tuple(out)


def _flatten(model: BaseModel, prefix: str, out: dict[str, Any]) -> None:
    """Dotted path → value for every given field (sub-models too, then their fields)."""
    fields = model.__dict__
    for name, path, kind in _plan(type(model), prefix):
        value = fields[name]
        if value is None:
            continue
        if kind == _MODEL:
            out[path] = value
            _flatten(value, path + ".", out)
        elif kind == _PLAIN or value != "unknown":
            out[path] = value


def _score_dict(result: ScoreResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    out: dict[str, Any] = {"score": result.score, "group": result.group}
    if result.group_alt is not None:
        out["score_alt"] = result.score_alt
        out["group_alt"] = result.group_alt
    if result.flags:
        out["flags"] = list(result.flags)
    return out


def _worse(a: str, b: str | None) -> str:
    return a if b is None or _RISK_ORDER[a] >= _RISK_ORDER[b] else b


_OUTPUT: dict[str, Any] = {
    "ct": None,
    "cn": None,
    "cm": None,
    "stage_group": None,
    "egfr": None,
    "egfr_equation": None,
    "ckd_stage": None,
    "renal": None,
    "padua": None,
    "imdc": None,
    "mskcc": None,
    "mirels": None,
    "leibovich": None,
    # What a score with missing inputs can still be (shown in the summary; not read by rules).
    "imdc_range": None,
    "mskcc_range": None,
    "mirels_range": None,
}


class _Work:
    """One derivation in progress: the case, what has been derived so far, and the values
    that one section of derive() hands to a later one (so a section can be run again alone)."""

    def __init__(
        self,
        case: Case,
        day: dt.date,
        v: dict[str, Any],
        miss: dict[str, tuple[str, ...]],
        out: dict[str, Any],
    ) -> None:
        self.case, self.day = case, day  # `day`: the date when the case gives no as_of
        self.as_of: dt.date = case.as_of or day
        self.v, self.miss, self.out = v, miss, out
        self.notes: list[str] = []
        self.flags: list[str] = []
        # Handed from one section to a later one.
        self.cm: str | None = None
        self.gfr_rounded: int | None = None
        self.egfr_missing: tuple[str, ...] = ()
        self.kps: int | None = None
        self.ecog: int | None = None
        self.histo: str | None = None
        self.surgery_date: dt.date | None = None
        self.items: list[dict[str, Any]] | None = None
        # Set when deriving a completed case again (`again`): its output block is dropped,
        # so the score ranges shown there (slow to work out, read by no rule) are skipped.
        self.values_only = False

    def put(self, name: str, value: Any, missing: tuple[str, ...] = ()) -> None:
        if value is None:
            self.miss[name] = missing
        else:
            self.v[_DERIVED_KEY[name]] = value

    def again(self, case: Case) -> _Work:
        """A copy to derive `case` (the same case with some inputs set) section by section:
        what the sections hand on, and the values so far, copied; calculator notes, flags
        and the output block start empty (only the values are re-derived)."""
        w = _Work(case, self.day, dict(self.v), dict(self.miss), dict(self.out))
        w.cm, w.gfr_rounded, w.egfr_missing = self.cm, self.gfr_rounded, self.egfr_missing
        w.kps, w.ecog, w.histo = self.kps, self.ecog, self.histo
        w.surgery_date, w.items = self.surgery_date, self.items
        w.values_only = True
        return w


def _symptoms(w: _Work) -> None:
    tumour = w.case.tumour
    if tumour is not None and tumour.symptomatic is None and tumour.symptoms is not None:
        # The listed symptoms answer "symptomatic?": never ask for what the case already says.
        w.v[_SYMPTOMATIC] = bool(tumour.symptoms)


def _staging(w: _Work) -> None:
    """Clinical T, N and M and the AJCC/UICC 8th-edition stage group."""
    tumour, mets, miss, out = w.case.tumour, w.case.metastases, w.miss, w.out
    ct: str | None = None
    if tumour is None:
        miss["ct"] = ("tumour.size_mm", "tumour.extension")
    else:
        ext = tumour.extension
        if ext is None:
            miss["ct"] = ("tumour.extension",) + (() if tumour.size_mm else ("tumour.size_mm",))
        else:
            ct = _t_category(tumour.size_mm, ext)
            if ct is None:
                miss["ct"] = ("tumour.size_mm",)
    w.put("ct", ct, miss.get("ct", ()))
    if ct is not None:
        w.put("ct_group", _T_GROUP.get(ct, ct[:2]))
    else:
        miss["ct_group"] = miss["ct"]
    has_sync_met = bool(mets) and any(m.synchronous for m in mets or ())
    cm = tumour.cm if tumour is not None else None
    if cm is None and has_sync_met:
        cm = "M1"  # a synchronous metastasis is cM1 by definition, not a guess
    w.put("cm", cm, ("tumour.cm",))
    cn = tumour.cn if tumour is not None and tumour.cn is not None else None
    if tumour is not None and cn is None:
        cn = "NX"  # nodes not assessed: NX (the stage group may then stay undetermined)
    w.put("cn", cn, ("tumour.cn",))
    stage: str | None = None
    if ct is not None and cm is not None and cn is not None:
        try:
            stage = _stage_group(ct, cn, cm)
        except ClinicalInputError:
            stage = None
    w.put("stage_group", stage, (*miss.get("ct", ()), "tumour.cn", "tumour.cm"))
    out.update(ct=ct, cn=cn, cm=cm, stage_group=stage)
    w.cm = cm


def _kidney_function(w: _Work) -> None:
    """eGFR: CKD-EPI 2021 by default; KDIGO category on the rounded value."""
    case = w.case
    patient, kidney = case.patient, case.kidney
    gfr: float | None = None
    gfr_rounded: int | None = None
    stage_g: str | None = None
    equation: str | None = None
    creat = kidney.creatinine if kidney is not None else None
    if creat is not None and patient is not None and patient.age is not None and patient.sex:
        try:
            res = _egfr(creat.value, creat.unit, patient.age, patient.sex, DEFAULT_EQUATION)
            gfr, gfr_rounded, stage_g, equation = (
                res.egfr,
                res.egfr_rounded,
                res.ckd_stage,
                res.equation,
            )
        except ClinicalInputError as err:
            w.notes.append(f"eGFR not computed: {err}")
    if gfr is None and kidney is not None and kidney.egfr is not None:
        gfr = float(kidney.egfr)
        gfr_rounded = _round_half_up(gfr)
        stage_g = _ckd_stage(gfr)
        equation = "reported"
    egfr_missing: tuple[str, ...] = ("kidney.creatinine",)
    if creat is not None:
        egfr_missing = tuple(
            p
            for p, val in (
                ("patient.age", patient.age if patient else None),
                ("patient.sex", patient.sex if patient else None),
            )
            if val is None
        ) or ("kidney.egfr",)
    w.put("egfr", gfr, egfr_missing)
    w.put("egfr_rounded", gfr_rounded, egfr_missing)
    w.put("ckd_stage", stage_g, egfr_missing)
    w.out.update(
        egfr=round(gfr, 1) if gfr is not None else None, egfr_equation=equation, ckd_stage=stage_g
    )
    w.gfr_rounded, w.egfr_missing = gfr_rounded, egfr_missing


def _nephrometry(w: _Work) -> None:
    """RENAL and PADUA."""
    tumour, out, notes = w.case.tumour, w.out, w.notes
    renal_total: int | None = None
    padua_total: int | None = None
    if tumour is not None and tumour.size_mm is not None and tumour.renal is not None:
        r = tumour.renal
        if None not in (r.exophytic_pct, r.nearness_mm, r.ap, r.polar, r.hilar):
            try:
                rr = _renal_score(
                    tumour.size_mm,
                    r.exophytic_pct,
                    r.nearness_mm,
                    r.ap,
                    r.polar,
                    r.hilar,
                )
                renal_total, out["renal"] = rr.total, rr.label
            except ClinicalInputError as err:
                notes.append(f"RENAL not computed: {err}")
    if tumour is not None and tumour.size_mm is not None and tumour.padua is not None:
        p = tumour.padua
        if None not in (p.exophytic_pct, p.polar, p.rim, p.sinus, p.ucs, p.face):
            try:
                pr = _padua_score(
                    tumour.size_mm,
                    p.exophytic_pct,
                    p.polar,
                    p.rim,
                    p.sinus,
                    p.ucs,
                    p.face,
                )
                padua_total, out["padua"] = pr.total, pr.label
            except ClinicalInputError as err:
                notes.append(f"PADUA not computed: {err}")
    w.put("renal_total", renal_total, ("tumour.renal",))
    w.put("padua_total", padua_total, ("tumour.padua",))
    # high_complexity = RENAL ≥ 10 or PADUA ≥ 10 [P]; one known score is enough.
    if renal_total is None and padua_total is None:
        w.put("high_complexity", None, ("tumour.renal",))
    else:
        w.put("high_complexity", (renal_total or 0) >= 10 or (padua_total or 0) >= 10)


def _nephron_sparing(w: _Work) -> None:
    """Nephron-sparing indications (conflict register C8)."""
    kidney, tumour = w.case.kidney, w.case.tumour
    gfr_rounded, egfr_missing = w.gfr_rounded, w.egfr_missing
    solitary = kidney.solitary_kidney if kidney else None
    bilateral = kidney.bilateral_tumours if kidney else None
    hered = kidney.hereditary_syndrome if kidney else None
    severe_ckd = None if gfr_rounded is None else gfr_rounded < 30  # G4–G5 trigger [P]
    parts = (
        (None if solitary is None else solitary != "none", "kidney.solitary_kidney"),
        (bilateral, "kidney.bilateral_tumours"),
        (None if hered is None else hered == "confirmed", "kidney.hereditary_syndrome"),
        (severe_ckd, egfr_missing[0]),
    )
    if any(x is True for x, _ in parts):
        w.put("imperative_nss", True)
    elif all(x is False for x, _ in parts):
        w.put("imperative_nss", False)
    else:
        w.put("imperative_nss", None, tuple(p for x, p in parts if x is None))
    relative: bool | None = None
    if (
        (gfr_rounded is not None and 30 <= gfr_rounded < 60)
        or (kidney and kidney.proteinuria)
        or (tumour and tumour.multifocal)
    ):  # KDIGO G3a/G3b [P]
        relative = True
    elif gfr_rounded is not None:
        relative = False
    w.put("relative_nss", relative, egfr_missing)
    if gfr_rounded is not None:
        w.put("ckd_drives_nss", gfr_rounded < 60)
    else:
        w.put("ckd_drives_nss", None, egfr_missing)


def _routing(w: _Work) -> None:
    """Routing (order of the decision nodes) and whether the disease is metastatic."""
    case, cm = w.case, w.cm
    tumour, prior, path, mets = case.tumour, case.prior_treatment, case.pathology, case.metastases
    prior_local = prior is not None and prior.type in _LOCAL_KIDNEY_TREATMENTS
    route_primary = tumour is not None and path is None and not prior_local
    w.put("route_primary", route_primary)
    if not route_primary:
        w.put("route_localised", False)
        w.put("route_synchronous_m1", False)
    else:
        w.put("route_localised", None if cm is None else cm == "M0", ("tumour.cm",))
        w.put("route_synchronous_m1", None if cm is None else cm == "M1", ("tumour.cm",))
    w.put("route_salvage", prior is not None and prior.failure in ("residual", "recurrence"))
    w.put("route_postop", path is not None)
    if mets or cm == "M1":
        w.put("metastatic", True)
    elif mets is not None or cm == "M0":
        w.put("metastatic", False)
    else:
        w.put("metastatic", None, ("metastases",))


def _performance(w: _Work) -> None:
    """Performance status ([P] CN-04: good = KPS ≥ 80 or ECOG 0–1) and fitness."""
    systemic, patient = w.case.systemic, w.case.patient
    kps = (systemic.kps if systemic else None) or (patient.kps if patient else None)
    if systemic is not None and systemic.kps == 0:
        kps = 0
    ecog = patient.ecog if patient else None
    w.put("kps", kps, ("patient.kps",))
    if kps is not None:
        w.put("good_ps", kps >= 80)
    elif ecog is not None:
        w.put("good_ps", ecog <= 1)
    else:
        w.put("good_ps", None, ("patient.ecog",))
    fit = patient.fit_for_surgery if patient else None
    w.put("fit", fit, ("patient.fit_for_surgery",))
    w.kps, w.ecog = kps, ecog


def _histology(w: _Work) -> None:
    path, tumour = w.case.pathology, w.case.tumour
    histo = (path.histology if path else None) or (tumour.histology if tumour else None)
    if histo == "unknown":
        histo = None
    w.put("histology", histo, ("tumour.histology",))
    w.put("histology_known", histo is not None)
    w.histo = histo


def _risk(w: _Work) -> None:
    """Metastatic risk: IMDC primary, MSKCC legacy; the worse group decides."""
    systemic, v, miss, kps, ecog = w.case.systemic, w.v, w.miss, w.kps, w.ecog
    imdc_res = mskcc_res = None
    if v.get("derived.metastatic"):
        planned = None if systemic is None else systemic.needs_systemic_therapy
        days = systemic.dx_to_systemic_days if systemic else None
        # Exception [P]: no systemic therapy planned → time factor present, provisional.
        no_plan = planned == "no" and days is None
        sysm = systemic
        imdc_out = _imdc(
            kps,
            ecog,
            days,
            sysm.hb_below_lln if sysm else None,
            sysm.calcium_corrected_above_uln if sysm else None,
            sysm.neutrophils_above_uln if sysm else None,
            sysm.platelets_above_uln if sysm else None,
            not no_plan,
        )
        if isinstance(imdc_out, tuple):
            miss["imdc_group"] = imdc_out
        else:
            imdc_res = imdc_out
        # Same [P] exception applied to MSKCC (project extension, reported): its time
        # factor is equally undefined when no therapy is planned.
        mskcc_out = _mskcc(
            kps,
            ecog,
            sysm.ldh_above_1_5_uln if sysm else None,
            sysm.hb_below_lln if sysm else None,
            sysm.calcium_corrected_above_10_mg_dl if sysm else None,
            0 if no_plan else days,
        )
        if isinstance(mskcc_out, tuple):
            miss["mskcc_group"] = mskcc_out
        else:
            mskcc_res = mskcc_out
            if no_plan:
                w.flags.append("mskcc_provisional")
    else:
        miss["imdc_group"] = miss["mskcc_group"] = ("metastases",)
    imdc_group = _worse(imdc_res.group, imdc_res.group_alt) if imdc_res else None
    mskcc_group = _worse(mskcc_res.group, mskcc_res.group_alt) if mskcc_res else None
    w.put("imdc_group", imdc_group, miss.get("imdc_group", ()))
    w.put("imdc_score", imdc_res.score if imdc_res else None, miss.get("imdc_group", ()))
    w.put("mskcc_group", mskcc_group, miss.get("mskcc_group", ()))
    if imdc_group == "poor" or mskcc_group == "poor":
        w.put("risk_group", "poor")
    elif imdc_group is not None and mskcc_group is not None:
        w.put("risk_group", _worse(imdc_group, mskcc_group))
    else:
        w.put(
            "risk_group",
            None,
            miss.get("imdc_group", ()) + miss.get("mskcc_group", ()),
        )
    for score_res in (imdc_res, mskcc_res):
        if score_res is not None:
            extend_unique(w.flags, score_res.flags)  # a loop: see merge.py
    w.out["imdc"], w.out["mskcc"] = _score_dict(imdc_res), _score_dict(mskcc_res)
    w.out["imdc_range"] = w.out["mskcc_range"] = None  # this section may run again
    if w.values_only:
        return
    if v.get("derived.metastatic") and (imdc_res is None or mskcc_res is None):
        # Shown, not used by the rules: a settled range is decided by settling the options.
        sysm = systemic
        hb = sysm.hb_below_lln if sysm else None
        if imdc_res is None:
            w.out["imdc_range"] = _range_dict(
                _imdc_range(
                    kps,
                    ecog,
                    days,
                    hb,
                    sysm.calcium_corrected_above_uln if sysm else None,
                    sysm.neutrophils_above_uln if sysm else None,
                    sysm.platelets_above_uln if sysm else None,
                    not no_plan,
                    miss.get("imdc_group", ()),
                )
            )
        if mskcc_res is None:
            w.out["mskcc_range"] = _range_dict(
                _mskcc_range(
                    kps,
                    ecog,
                    sysm.ldh_above_1_5_uln if sysm else None,
                    hb,
                    sysm.calcium_corrected_above_10_mg_dl if sysm else None,
                    0 if no_plan else days,
                    miss.get("mskcc_group", ()),
                )
            )


def _dates(w: _Work) -> None:
    """Days since surgery, the earlier treatment's modality, days to its failure."""
    path, prior = w.case.pathology, w.case.prior_treatment
    surgery_date = path.date if path else None
    if surgery_date is None and prior is not None and prior.type in _LOCAL_KIDNEY_TREATMENTS:
        surgery_date = prior.date
    w.put(
        "days_since_surgery",
        (w.as_of - surgery_date).days if surgery_date else None,
        ("pathology.date",),
    )
    if prior is not None and prior.type is not None:
        mod = _ABLATION_MODALITY.get(prior.type)
        if mod is None:
            mod = {"partial_nephrectomy": "pn", "radical_nephrectomy": "rn"}.get(
                prior.type, "other"
            )
        w.put("prior_modality", mod)
        w.put("prior_is_ablation", prior.type in _ABLATION_MODALITY)
    else:
        w.put("prior_modality", None, ("prior_treatment.type",))
        w.put("prior_is_ablation", None, ("prior_treatment.type",))
    if prior is not None and prior.date and prior.failure_date:
        w.put("days_to_failure", (prior.failure_date - prior.date).days)
    else:
        w.put("days_to_failure", None, ("prior_treatment.failure_date",))
    w.surgery_date = surgery_date


def _metastases(w: _Work) -> None:
    """Metastases one by one (Mirels score; disease-free interval MDL-01f) and their counts."""
    mets, surgery_date, as_of = w.case.metastases, w.surgery_date, w.as_of
    items: list[dict[str, Any]] | None = None
    best_mirels: ScoreResult | None = None
    if mets is not None:
        items = []
        counts: list[int] = []
        organs: set[str] = set()
        count_missing: list[str] = []
        for i, met in enumerate(mets):
            item: dict[str, Any] = {}
            _flatten(met, ITEM_PREFIX, item)
            if met.symptoms is not None:
                item[_MET_SYMPTOMATIC] = bool(met.symptoms)
            b = met.bone
            if b is not None and None not in (b.site, b.pain, b.lesion, b.cortical_fraction):
                try:
                    mr = _mirels(b.site, b.pain, b.lesion, b.cortical_fraction)
                    item[_MET_MIRELS_SCORE] = mr.score
                    item[_MET_MIRELS_GROUP] = mr.group
                    if best_mirels is None or (mr.score or 0) > (best_mirels.score or 0):
                        best_mirels = mr
                except ClinicalInputError as err:
                    w.notes.append(f"Mirels not computed for metastases[{i}]: {err}")
            elif b is not None:
                # Name the missing parts one by one, so each can be judged on its own.
                item[_MET_MIRELS_MISSING] = tuple(
                    f"metastases[{i}].bone.{part}"
                    for part in _BONE_PARTS
                    if getattr(b, part) is None
                )
            if surgery_date is not None:
                item[_MET_DFI_DAYS] = ((met.date or as_of) - surgery_date).days
            items.append(item)
            if met.count is None:
                count_missing.append(f"metastases[{i}].count")
            else:
                counts.append(met.count)
            if met.organ is not None:
                organs.add(met.organ)
        w.put("met_total_count", None if count_missing else sum(counts), tuple(count_missing))
        w.put("met_organ_count", len(organs) if organs else None, ("metastases",))
    else:
        w.miss["met_total_count"] = w.miss["met_organ_count"] = ("metastases",)
    w.out["mirels"] = _score_dict(best_mirels)
    w.out["mirels_range"] = (
        _range_dict(_widest_mirels_range(mets))
        if best_mirels is None and mets and not w.values_only
        else None
    )
    w.items = items


def _pathology(w: _Work) -> None:
    """pT group and the Leibovich score (FU-01)."""
    path, histo, miss = w.case.pathology, w.histo, w.miss
    if path is not None:
        if path.pt is not None:
            w.put("pt_group", path.pt[:3])
        else:
            miss["pt_group"] = ("pathology.pt",)
        lres: ScoreResult | None = None
        if histo is None:
            miss["leibovich_group"] = ("pathology.histology",)
        else:
            scored = _leibovich(
                path.pt, path.pn, path.size_mm, path.isup_grade, path.necrosis, histo
            )
            if isinstance(scored, tuple):
                miss["leibovich_group"] = scored
            else:
                lres = scored
        w.put("leibovich_group", lres.group if lres else None, miss.get("leibovich_group", ()))
        w.put(
            "leibovich_score",
            lres.score if lres else None,
            miss.get("leibovich_group", ("pathology.histology",)),
        )
        w.out["leibovich"] = _score_dict(lres)
    else:
        for name in ("pt_group", "leibovich_group", "leibovich_score"):
            miss[name] = ("pathology",)


class _Section:
    """One step of derive(): what it reads of the case, what it derives, and the sections it
    hands values to.  `reads` are case paths (`met.` for any metastasis field); an entry
    ending with "." stands for every field under it."""

    def __init__(
        self,
        run: Callable[[_Work], None],
        reads: tuple[str, ...],
        derives: tuple[str, ...],
        feeds: tuple[int, ...] = (),
    ) -> None:
        self.run = run
        self.reads = frozenset(r for r in reads if not r.endswith("."))
        self.prefixes = tuple(r for r in reads if r.endswith("."))
        self.keys = tuple(_DERIVED_KEY[name] for name in derives)
        self.derives = derives
        self.feeds = feeds
        self.pairs = tuple(zip(self.keys, derives, strict=True))  # (key, name) of each

    def reads_path(self, path: str) -> bool:
        return path in self.reads or any(path.startswith(p) for p in self.prefixes)


_MET_ITEMS = "met."
# In the order derive() runs them; `feeds` are the indices of the later sections that read
# a value this one hands on.  tests/pathway/test_derive_incremental.py checks, for every
# input the engine may try (settle.py) on generated cases, that re-running the sections
# this table names gives exactly what deriving the whole case again gives.
_SECTIONS: tuple[_Section, ...] = (
    _Section(_symptoms, ("tumour", "tumour.symptomatic", "tumour.symptoms"), ()),
    _Section(
        _staging,
        (
            *("tumour", "tumour.extension", "tumour.extension.", "tumour.size_mm"),
            *("tumour.cm", "tumour.cn", "met.synchronous", "metastases"),
        ),
        ("ct", "ct_group", "cm", "cn", "stage_group"),
        (5, 8),
    ),
    _Section(
        _kidney_function,
        (
            *("kidney", "kidney.creatinine", "kidney.creatinine.", "kidney.egfr"),
            *("patient", "patient.age", "patient.sex"),
        ),
        ("egfr", "egfr_rounded", "ckd_stage"),
        (4,),
    ),
    _Section(
        _nephrometry,
        (
            *("tumour", "tumour.size_mm", "tumour.renal", "tumour.renal."),
            *("tumour.padua", "tumour.padua."),
        ),
        ("renal_total", "padua_total", "high_complexity"),
    ),
    _Section(
        _nephron_sparing,
        (
            *("kidney", "kidney.solitary_kidney", "kidney.bilateral_tumours"),
            *("kidney.hereditary_syndrome", "kidney.proteinuria", "tumour", "tumour.multifocal"),
        ),
        ("imperative_nss", "relative_nss", "ckd_drives_nss"),
    ),
    _Section(
        _routing,
        (
            *("tumour", "pathology", "prior_treatment", "prior_treatment.type"),
            *("prior_treatment.failure", "metastases"),
        ),
        (
            *("route_primary", "route_localised", "route_synchronous_m1", "route_salvage"),
            *("route_postop", "metastatic"),
        ),
        (8,),
    ),
    _Section(
        _performance,
        (
            *("systemic", "systemic.kps", "patient", "patient.kps", "patient.ecog"),
            "patient.fit_for_surgery",
        ),
        ("kps", "good_ps", "fit"),
        (8,),
    ),
    _Section(
        _histology,
        ("pathology", "pathology.histology", "tumour", "tumour.histology"),
        ("histology", "histology_known"),
        (11,),
    ),
    _Section(
        _risk,
        ("systemic", "systemic."),
        ("imdc_group", "imdc_score", "mskcc_group", "risk_group"),
    ),
    _Section(
        _dates,
        ("pathology", "pathology.date", "prior_treatment", "prior_treatment.", "as_of"),
        ("days_since_surgery", "prior_modality", "prior_is_ablation", "days_to_failure"),
        (10,),
    ),
    _Section(
        _metastases,
        ("metastases", _MET_ITEMS, "as_of"),
        ("met_total_count", "met_organ_count"),
    ),
    _Section(
        _pathology,
        ("pathology", "pathology."),
        ("pt_group", "leibovich_group", "leibovich_score"),
    ),
)


_READERS: dict[str, tuple[int, ...]] = {}


def _sections_reading(path: str) -> tuple[int, ...]:
    """The indices of the sections that read a case path (worked out once per path)."""
    found = _READERS.get(path)
    if found is None:
        found = _READERS[path] = tuple(
            i for i, section in enumerate(_SECTIONS) if section.reads_path(path)
        )
    return found


def derive(case: Case, today: dt.date | None = None) -> Derived:
    """Compute every derived value once; never raises for a validated case."""
    w = _Work(case, today or dt.date.today(), {}, {}, dict(_OUTPUT))
    _flatten(case, "", w.v)
    for section in _SECTIONS:
        section.run(w)
    return Derived(w.v, w.miss, w.items, w.out, w.flags, w.notes, w)


def derive_again(base: Derived, case: Case, paths: Sequence[str]) -> Derived | None:
    """The derived values of `case` — `base`'s case with the inputs at `paths` set (case
    paths as settle.py names them, `metastases[1].bone.pain`) — re-deriving only the sections
    of derive() that read one of them (or a value such a section hands on).

    Only `values`, `missing` and `items` are re-derived: calculator notes, flags and the
    output block are left as they were (settle.py reads only what the rules read).  None if
    `base` was not made by derive().
    """
    found = derive_changes(base, case, paths)
    return None if found is None else found[0]


# Whether values of a type are case models, by type: isinstance() against pydantic's model
# class goes through its metaclass, a cost paid several times per completion in settling.
_MODEL_TYPES: dict[type, bool] = {}


def _is_model(value: object) -> bool:
    cls = type(value)
    found = _MODEL_TYPES.get(cls)
    if found is None:
        found = _MODEL_TYPES[cls] = issubclass(cls, BaseModel)
    return found


def derive_changes(
    base: Derived, case: Case, paths: Sequence[str]
) -> tuple[Derived, frozenset[str]] | None:
    """derive_again(), and the paths whose value (or missing inputs, for `derived.*`) now
    differs: all that a rule must read to be able to say anything different (plan.py)."""
    work = base.work
    if work is None:
        return None
    w = work.again(case)
    v = w.v
    changed: set[str] = set()  # case paths as the sections name them (`met.` for items)
    touched: list[str] = []  # keys of the flattened case that may differ
    for path in paths:
        old_node: Any = work.case
        new_node: Any = case
        prefix = ""
        in_item = False
        for part in path.split("."):
            name, _, index = part.partition("[")
            old_child: Any = None if old_node is None else getattr(old_node, name, None)
            new_child: Any = getattr(new_node, name, None)
            if index:
                # A metastasis: the rules read its fields from `items` (re-derived below).
                v[_METASTASES] = new_child
                touched.append(_METASTASES)
                i = int(index[:-1])
                old_node = None if old_child is None else old_child[i]
                new_node = new_child[i]
                prefix, in_item = ITEM_PREFIX, True
                continue
            key = sys.intern(prefix + name)
            if not in_item:
                # As _flatten() has it: no entry for a missing value or an "unknown".
                if new_child is None or (key in TRI_STATE_PATHS and new_child == "unknown"):
                    v.pop(key, None)
                else:
                    v[key] = new_child
                touched.append(key)
            if not _is_model(new_child):
                changed.add(key)  # the input set
            elif old_child is None:
                # Created on the way, perhaps with defaults (an imaging extension).
                changed.add(key)
                created: dict[str, Any] = {}
                _flatten(new_child, key + ".", created)
                changed.update(created)
                if not in_item:
                    v.update(created)
                    touched.extend(created)
            old_node, new_node, prefix = old_child, new_child, key + "."
    again: set[int] = set()
    for c in changed:
        again.update(_sections_reading(c))
    names: list[str] = []
    items_again = False
    for i, section in enumerate(_SECTIONS):
        if i not in again:
            continue
        miss = w.miss
        for key, name in section.pairs:
            v.pop(key, None)
            miss.pop(name, None)
        section.run(w)
        again.update(section.feeds)
        touched.extend(section.keys)
        names.extend(section.derives)
        if section.run is _metastases:
            items_again = True
    old_v, old_miss = base.values, base.missing
    diff: set[str] = set()
    for k in touched:
        a, b = old_v.get(k), v.get(k)
        # Objects (a case section, the list of metastases) by identity: a new one may
        # hold the same values, and then reading it again costs a rule nothing.
        if a is not b and (isinstance(a, list) or _is_model(a) or a != b):
            diff.add(k)
    for name in names:
        if old_miss.get(name) != w.miss.get(name):
            diff.add(_DERIVED_KEY[name])
    if items_again and base.items != w.items:
        old_items, new_items = base.items or [], w.items or []
        if len(old_items) != len(new_items):
            diff.update(k for item in (*old_items, *new_items) for k in item)
        for old_item, new_item in zip(old_items, new_items, strict=False):
            for key in old_item.keys() | new_item.keys():
                if old_item.get(key) != new_item.get(key):
                    diff.add(key)
        if _MET_MIRELS_MISSING in diff:
            diff.update((_MET_MIRELS_SCORE, _MET_MIRELS_GROUP))
    new = Derived(w.v, w.miss, w.items, base.output, base.flags, base.notes)
    return new, frozenset(diff)


_METASTASES = sys.intern("metastases")


_LEIB = {"grade": "isup_grade"}
_SYSTEMIC_PATH = {
    "kps": "patient.kps",
    "ecog": "patient.kps",
    "dx_to_systemic_days": "systemic.dx_to_systemic_days",
}


def _systemic_paths(fields: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for f in fields:
        p = _SYSTEMIC_PATH.get(f, f"systemic.{f}")
        if p not in out:
            out.append(p)
    return tuple(out)


# The metastatic risk scores, memoised with their refusals (as the case paths they still
# need).  Registry batches repeat the same incomplete inputs (no labs → no IMDC) constantly,
# and a refusal costs far more to rebuild than to look up; it is returned, never raised, so
# no cached exception drags a stale traceback along.  Positional, for a cheap cache key.


@functools.lru_cache(maxsize=4096)
def _imdc(
    kps: int | None,
    ecog: int | None,
    days: int | None,
    hb: bool | None,
    calcium: bool | None,
    neutrophils: bool | None,
    platelets: bool | None,
    planned: bool,
) -> ScoreResult | tuple[str, ...]:
    try:
        return imdc(
            kps=kps,
            ecog=ecog,
            dx_to_systemic_days=days,
            hb_below_lln=hb,
            calcium_corrected_above_uln=calcium,
            neutrophils_above_uln=neutrophils,
            platelets_above_uln=platelets,
            systemic_planned=planned,
        )
    except ClinicalInputError as err:
        return _systemic_paths(err.fields)


def _range_dict(rng: ScoreRange | None) -> dict[str, Any] | None:
    return None if rng is None else rng.as_dict()


_BOOL = (False, True)
# Representative values on either side of the models' own thresholds ("KPS < 80",
# "< 1 year from diagnosis to systemic therapy"); the models decide, nothing is restated.
_KPS_SIDES = (90, 70)
_DAYS_SIDES = (0, 3650)


def _split(
    values: dict[str, Any], sides: dict[str, tuple[Any, ...]]
) -> tuple[dict[str, Any], dict[str, tuple[Any, ...]]]:
    """The model's inputs as (known ones, the values each open one may take): an input is
    open when it is None and `sides` lists values for it."""
    known: dict[str, Any] = {}
    todo: dict[str, tuple[Any, ...]] = {}
    for name, value in values.items():
        if value is None and name in sides:
            todo[name] = sides[name]
        else:
            known[name] = value
    return known, todo


def _factor_sides(ecog: int | None, time_open: bool, *flags: str) -> dict[str, tuple[Any, ...]]:
    """Open values of a factor-count model: its yes/no factors, KPS when no ECOG stands in
    for it, and the time to systemic therapy when it is still a factor."""
    sides: dict[str, tuple[Any, ...]] = dict.fromkeys(flags, _BOOL)
    if ecog is None:
        sides["kps"] = _KPS_SIDES
    if time_open:
        sides["dx_to_systemic_days"] = _DAYS_SIDES
    return sides


@functools.lru_cache(maxsize=4096)
def _imdc_range(
    kps: int | None,
    ecog: int | None,
    days: int | None,
    hb: bool | None,
    calcium: bool | None,
    neutrophils: bool | None,
    platelets: bool | None,
    planned: bool,
    missing: tuple[str, ...],
) -> ScoreRange | None:
    """The IMDC counts still possible (Heng 2009 groups), for the derived block."""
    values = {
        "kps": kps,
        "ecog": ecog,
        "dx_to_systemic_days": days,
        "hb_below_lln": hb,
        "calcium_corrected_above_uln": calcium,
        "neutrophils_above_uln": neutrophils,
        "platelets_above_uln": platelets,
        "systemic_planned": planned,
    }
    sides = _factor_sides(
        ecog,
        planned,
        "hb_below_lln",
        "calcium_corrected_above_uln",
        "neutrophils_above_uln",
        "platelets_above_uln",
    )
    return score_range(imdc, *_split(values, sides), _RISK_GROUPS, missing)


@functools.lru_cache(maxsize=4096)
def _mskcc_range(
    kps: int | None,
    ecog: int | None,
    ldh: bool | None,
    hb: bool | None,
    calcium: bool | None,
    days: int | None,
    missing: tuple[str, ...],
) -> ScoreRange | None:
    """The MSKCC 2002 counts still possible (Motzer 2002 groups), for the derived block."""
    values = {
        "kps": kps,
        "ecog": ecog,
        "ldh_above_1_5_uln": ldh,
        "hb_below_lln": hb,
        "calcium_corrected_above_10_mg_dl": calcium,
        "dx_to_systemic_days": days,
    }
    sides = _factor_sides(
        ecog, True, "ldh_above_1_5_uln", "hb_below_lln", "calcium_corrected_above_10_mg_dl"
    )
    return score_range(mskcc, *_split(values, sides), _RISK_GROUPS, missing)


_MIRELS_CHOICES: dict[str, tuple[str, ...]] = {
    "site": tuple(SITE_POINTS),
    "pain": tuple(PAIN_POINTS),
    "lesion": tuple(LESION_POINTS),
    "cortical_fraction": tuple(CORTICAL_POINTS),
}
_MIRELS_GROUPS = ("radiotherapy_or_observation", "clinical_judgement", "prophylactic_fixation")


@functools.lru_cache(maxsize=1024)
def _mirels_range(
    site: str | None, pain: str | None, lesion: str | None, fraction: str | None, where: str
) -> ScoreRange | None:
    """The Mirels totals still possible (Mirels 1989 groups) for one bone lesion."""
    given = {"site": site, "pain": pain, "lesion": lesion, "cortical_fraction": fraction}
    known, todo = _split(given, _MIRELS_CHOICES)
    missing = tuple(f"{where}.bone.{k}" for k in todo)
    return score_range(mirels, known, todo, _MIRELS_GROUPS, missing)


def _widest_mirels_range(mets: Sequence[Any]) -> ScoreRange | None:
    """Of the bone lesions with a partial Mirels score, the one that can score highest."""
    best: ScoreRange | None = None
    for i, met in enumerate(mets):
        b = met.bone
        if b is None:
            continue
        rng = _mirels_range(b.site, b.pain, b.lesion, b.cortical_fraction, f"metastases[{i}]")
        if rng is not None and (best is None or rng.high > best.high):
            best = rng
    return best


@functools.lru_cache(maxsize=4096)
def _mskcc(
    kps: int | None,
    ecog: int | None,
    ldh: bool | None,
    hb: bool | None,
    calcium: bool | None,
    days: int | None,
) -> ScoreResult | tuple[str, ...]:
    try:
        return mskcc(
            kps=kps,
            ecog=ecog,
            ldh_above_1_5_uln=ldh,
            hb_below_lln=hb,
            calcium_corrected_above_10_mg_dl=calcium,
            dx_to_systemic_days=days,
        )
    except ClinicalInputError as err:
        return _systemic_paths(err.fields)
