"""The registry data dictionary: the one definition of every CSV file and column.

Validation, CSV headers (import, export, the synthetic generator), the Markdown documentation
and the REDCap data-dictionary export are all generated from `FILES`, so they cannot drift
apart. Names, file names and enumerations here are a contract: extend, never rename.

Public API (stable; the synthetic-cohort generator and the outcomes layer rely on it):

- `FILES: dict[str, FileSpec]` in import order (patients, tumours, imaging, interventions,
  pathology, complications, labs, events, then the coded records: staging, performance,
  disease_status, metastases, systemic_therapy, radiotherapy) — a parent file always
  precedes its children. A folder may hold any subset of them (older folders hold only the
  first eight).
- `FileSpec.name` ("patients"), `.filename` ("patients.csv"), `.columns`, `.key` (the columns
  that identify a row for upserts), `.description`.
- `ColumnSpec(name, type, required, enum, unit, description, min, max, references, phi)` where
  `type` is "str" | "int" | "float" | "bool" | "date" | "enum" and `phi` tags what a column can
  reveal about a person (see `Phi`; drives the de-identified export and REDCap's "Identifier?").
- `header(file_name) -> list[str]`, `column(file_name, column_name) -> ColumnSpec`.

Cell conventions: UTF-8, header row, dates ISO `YYYY-MM-DD`, booleans `true`/`false`, blank =
missing, enumerations lower-case exactly as written (TNM categories and Clavien–Dindo grades are
written as in their staging systems, e.g. `T1a`, `N0`, `IIIa`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from renalpath.registry import vocab

ColumnType = Literal["str", "int", "float", "bool", "date", "enum"]
# What a column can reveal about a person, following REDCap's de-identified export ("remove
# tagged identifiers; hash the record ID; shift dates by up to 364 days per record
# (intervals are preserved); remove free text"). Kept here, as data, so a new column is tagged
# where it is defined and `registry.deidentify` needs no list of its own:
# - "record_id": a registry identifier or a reference to one. Ids are chosen by the site and
#   often embed a hospital number, so they are replaced by keyed pseudonyms;
# - "date": a calendar date of the patient's history, shifted by the patient's offset;
# - "free_text": typed prose that can name people or places; blanked.
# Coded values (enumerations, numbers, lab units) carry no tag.
Phi = Literal["record_id", "date", "free_text"]

BOOL_VALUES: tuple[str, str] = ("true", "false")

# TNM categories accepted in ct/pt, cn/pn, cm/pm. AJCC 8th edition kidney T categories
# (TX, T0, T1, T1a, T1b, T2, T2a, T2b, T3, T3a, T3b, T3c, T4; AJCC Cancer Staging Manual,
# 8th edition, 2017); the unsubdivided T1/T2/T3 appear in real registries (e.g. KiTS19
# records pT "3"). MX is not an AJCC 8 category but legacy registries hold it, so it is
# accepted and kept as written.
T_CATEGORIES: tuple[str, ...] = (
    "TX",
    "T0",
    "T1",
    "T1a",
    "T1b",
    "T2",
    "T2a",
    "T2b",
    "T3",
    "T3a",
    "T3b",
    "T3c",
    "T4",
)
N_CATEGORIES: tuple[str, ...] = ("NX", "N0", "N1")
M_CATEGORIES: tuple[str, ...] = ("M0", "M1", "MX")
# Clavien–Dindo grades (Dindo 2004); the "-d" suffix (disability at discharge) is also accepted.
CLAVIEN_GRADES: tuple[str, ...] = ("I", "II", "IIIa", "IIIb", "IVa", "IVb", "V")

SEXES = ("male", "female")
SIDES = ("left", "right")
# WHO 2022 renal tumour subtypes with their ICD-O-3 codes (`registry/codes/histology.csv`); the
# first five short names and other/unknown are those of earlier releases.
HISTOLOGIES: tuple[str, ...] = vocab.histology_names()
INTERVENTION_TYPES = (
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
)
ABLATION_TYPES = ("cryoablation", "radiofrequency_ablation", "microwave_ablation")
APPROACHES = ("open", "laparoscopic", "robotic", "percutaneous", "none")
INTENTS = ("primary", "salvage", "cytoreductive", "palliative")
CONVERSIONS = ("none", "open", "radical")
MARGINS = ("negative", "positive", "not_applicable")
LAB_TESTS = (
    "creatinine",
    "egfr",
    "hemoglobin",
    "calcium",
    "albumin",
    "ldh",
    "neutrophils",
    "platelets",
)
EVENT_TYPES = (
    "residual_disease",
    "local_recurrence",
    "distant_metastasis",
    "dialysis_start",
    "dialysis_end",
    "death",
    "last_followup",
)
MODALITIES = ("ct", "mri", "us")
COMPARATORS = ("<", "<=", ">", ">=")
# AJCC classification prefixes of a staging record: c clinical, p pathological, y after
# neoadjuvant therapy, r at recurrence (AJCC Cancer Staging Manual, 8th edition, ch. 1).
STAGING_CLASSIFICATIONS = ("c", "p", "yc", "yp", "rc", "rp")
# The TNM prefix that carries meaning beside ct/cn/cm (tumours) and pt/pn/pm (pathology): y
# classified during or after initial multimodality (e.g. neoadjuvant) therapy, r recurrent
# tumour classified after a disease-free interval, a classified at autopsy, yr both y and r.
# The c/p that merely repeats the column's kind is not kept. Blank = none of them: a primary
# classification. (Amin MB et al., AJCC Cancer Staging Manual, 8th ed., Springer 2017, ch. 1;
# Brierley JD et al., UICC TNM Classification of Malignant Tumours, 8th ed., Wiley 2017.)
# A tumours row with "y" is what a staging record calls "yc", a pathology row with "y" "yp".
TNM_PREFIXES = ("y", "r", "a", "yr")
STAGE_GROUPS = ("I", "II", "III", "IV")  # AJCC 7/8 kidney stage groups
AJCC_EDITIONS = ("7", "8")
STAGING_BASES = ("imaging", "pathology", "clinical")
# Disease-status trend: the four values of mCODE's condition-status-trend value set.
DISEASE_STATUSES = ("improved", "stable", "worsened", "undetermined")
# Evidence of a disease-status assessment: mCODE's evidence-type value set (one concept each).
STATUS_EVIDENCE = (
    "imaging",
    "histology",
    "cytology",
    "pathology",
    "laboratory",
    "physical_exam",
    "tumour_marker",
)
BODY_SITES: tuple[str, ...] = tuple(vocab.body_sites())
METASTASIS_DETECTION = ("imaging", "biopsy", "surgery", "clinical")
AGENTS: tuple[str, ...] = tuple(vocab.agents())
STOP_REASONS = ("completed", "progression", "toxicity", "patient_choice", "death", "other")
RT_MODALITIES = (
    "photons",
    "electrons",
    "protons",
    "carbon_ions",
    "brachytherapy_hdr",
    "brachytherapy_ldr",
    "radiopharmaceutical",
)


@dataclass(frozen=True)
class ColumnSpec:
    """One CSV column: how to parse it, what is allowed, and what it means."""

    name: str
    type: ColumnType
    required: bool = False
    enum: tuple[str, ...] | None = None
    unit: str | None = None
    description: str = ""
    # Plausibility bounds (data-quality limits chosen by this project, not clinical
    # thresholds): a value outside them is almost certainly a typing or unit error.
    min: float | None = None
    max: float | None = None
    # "file.column" this value must exist in (in the same folder or already in the database).
    references: str | None = None
    # What the column can reveal about a person (see `Phi`); None = nothing identifying.
    phi: Phi | None = None


@dataclass(frozen=True)
class FileSpec:
    """One CSV file of a registry folder."""

    name: str
    description: str
    columns: tuple[ColumnSpec, ...]
    # Columns identifying a row for upserts. Files with their own id use it; the others use a
    # natural key (documented in `description`); complications use intervention_id + the row's
    # ordinal among that intervention's complications ("seq", not a CSV column).
    key: tuple[str, ...]
    form_label: str = ""

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ColumnSpec:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.filename} has no column {name!r}")


def _c(
    name: str,
    type_: ColumnType,
    description: str,
    *,
    required: bool = False,
    enum: tuple[str, ...] | None = None,
    unit: str | None = None,
    min_: float | None = None,
    max_: float | None = None,
    references: str | None = None,
    phi: Phi | None = None,
) -> ColumnSpec:
    if enum is not None and type_ == "bool":
        raise ValueError(name)
    if phi is None and (type_ == "date" or references is not None):
        phi = "date" if type_ == "date" else "record_id"  # every date and every reference
    return ColumnSpec(name, type_, required, enum, unit, description, min_, max_, references, phi)


def _bool(name: str, description: str, **kw: bool) -> ColumnSpec:
    return _c(name, "bool", description, **kw)  # type: ignore[arg-type]


PATIENT_REF = "patients.patient_id"
TUMOUR_REF = "tumours.tumour_id"
INTERVENTION_REF = "interventions.intervention_id"

_PATIENTS = FileSpec(
    name="patients",
    form_label="Patient",
    description="One row per patient.",
    key=("patient_id",),
    columns=(
        _c(
            "patient_id",
            "str",
            "Registry patient identifier (pseudonymous).",
            required=True,
            phi="record_id",
        ),
        _c("sex", "enum", "Sex used by the eGFR equations.", required=True, enum=SEXES),
        _c("birth_date", "date", "Date of birth.", required=True),
        _bool(
            "black_race",
            "Black race; only for the legacy MDRD / CKD-EPI 2009 equations (CKD-EPI 2021 is "
            "race-free). Blank = unknown.",
        ),
        _c(
            "solitary_kidney",
            "enum",
            "Solitary kidney (anatomic or functional).",
            enum=("none", "anatomic", "functional"),
        ),
        _c(
            "hereditary_syndrome",
            "enum",
            "Hereditary RCC syndrome (e.g. von Hippel-Lindau).",
            enum=("none", "suspected", "confirmed"),
        ),
        _c("death_date", "date", "Date of death."),
        _c("death_cause", "enum", "Cause of death.", enum=("rcc", "other", "unknown")),
        _c("last_contact_date", "date", "Date the patient was last known alive."),
    ),
)

_TUMOURS = FileSpec(
    name="tumours",
    form_label="Tumour",
    description="One row per tumour (a patient may have several, on either side).",
    key=("tumour_id",),
    columns=(
        _c("tumour_id", "str", "Persistent tumour identifier.", required=True, phi="record_id"),
        _c("patient_id", "str", "Patient.", required=True, references=PATIENT_REF),
        _c("side", "enum", "Kidney side.", required=True, enum=SIDES),
        _c("diagnosis_date", "date", "Date of diagnosis (first imaging).", required=True),
        _c(
            "histology",
            "enum",
            "Histology (biopsy or final): WHO 2022 subtype; ICD-O-3 codes in "
            "registry/codes/histology.csv (an ICD-O-3 code naming one subtype is accepted).",
            enum=HISTOLOGIES,
        ),
        _c("ct", "enum", "Clinical T category (AJCC 8).", enum=T_CATEGORIES),
        _c("cn", "enum", "Clinical N category (AJCC 8).", enum=N_CATEGORIES),
        _c("cm", "enum", "Clinical M category (AJCC 8).", enum=M_CATEGORIES),
        _c(
            "tnm_prefix",
            "enum",
            "TNM prefix of ct/cn/cm that carries meaning. Values: y classified during or after "
            "initial multimodality (e.g. neoadjuvant) therapy; r recurrent tumour after a "
            "disease-free interval; a at autopsy; yr both y and r; blank none, the primary "
            "clinical classification (the c itself is not kept).",
            enum=TNM_PREFIXES,
        ),
    ),
)

_IMAGING = FileSpec(
    name="imaging",
    form_label="Imaging",
    description=(
        "One row per imaging study per tumour; key: tumour_id + date + modality (one study of "
        "a modality per tumour per day)."
    ),
    key=("tumour_id", "date", "modality"),
    columns=(
        _c("tumour_id", "str", "Tumour imaged.", required=True, references=TUMOUR_REF),
        _c("date", "date", "Date of the study.", required=True),
        _c("modality", "enum", "Imaging modality.", enum=MODALITIES),
        _c(
            "size_mm",
            "float",
            "Maximum tumour diameter.",
            required=True,
            unit="mm",
            min_=1,
            max_=400,
        ),
        _c(
            "renal_exophytic_pct",
            "float",
            "R.E.N.A.L.: exophytic fraction (0 = entirely endophytic).",
            unit="%",
            min_=0,
            max_=100,
        ),
        _c(
            "renal_nearness_mm",
            "float",
            "R.E.N.A.L.: nearness to collecting system or sinus.",
            unit="mm",
            min_=0,
            max_=200,
        ),
        _c("renal_ap", "enum", "R.E.N.A.L.: anterior/posterior/neither.", enum=("a", "p", "x")),
        _c(
            "renal_polar",
            "enum",
            "R.E.N.A.L.: location relative to the polar lines.",
            enum=("outside", "crosses", "central"),
        ),
        _bool("renal_hilar", "R.E.N.A.L.: touches the main renal artery or vein (h suffix)."),
        _c(
            "padua_polar",
            "enum",
            "PADUA: longitudinal location.",
            enum=("superior", "inferior", "middle"),
        ),
        _c(
            "padua_exophytic_pct",
            "float",
            "PADUA: exophytic fraction (0 = entirely endophytic).",
            unit="%",
            min_=0,
            max_=100,
        ),
        _c("padua_rim", "enum", "PADUA: renal rim.", enum=("lateral", "medial")),
        _bool("padua_sinus", "PADUA: renal sinus involved."),
        _bool("padua_ucs", "PADUA: urinary collecting system involved."),
        _c("padua_face", "enum", "PADUA: anterior or posterior face.", enum=("a", "p")),
    ),
)

_INTERVENTIONS = FileSpec(
    name="interventions",
    form_label="Intervention",
    description="One row per intervention (first-line and salvage).",
    key=("intervention_id",),
    columns=(
        _c("intervention_id", "str", "Intervention identifier.", required=True, phi="record_id"),
        _c("patient_id", "str", "Patient.", required=True, references=PATIENT_REF),
        _c("tumour_id", "str", "Tumour treated (blank = unknown).", references=TUMOUR_REF),
        _c(
            "date", "date", "Date of the intervention (start, for systemic therapy).", required=True
        ),
        _c("type", "enum", "Intervention type.", required=True, enum=INTERVENTION_TYPES),
        _c("side", "enum", "Side treated; taken from the tumour when blank.", enum=SIDES),
        _c("approach", "enum", "Surgical / ablative approach.", enum=APPROACHES),
        _c("intent", "enum", "Intent; blank = derive (salvage lineage).", enum=INTENTS),
        _c(
            "warm_ischemia_min",
            "float",
            "Warm ischaemia time (partial nephrectomy).",
            unit="min",
            min_=0,
            max_=180,
        ),
        _c("cold_ischemia_min", "float", "Cold ischaemia time.", unit="min", min_=0, max_=600),
        _c("blood_loss_ml", "float", "Estimated blood loss.", unit="mL", min_=0, max_=50000),
        _c(
            "operative_time_min",
            "float",
            "Operative (skin-to-skin) time.",
            unit="min",
            min_=0,
            max_=1440,
        ),
        _c(
            "transfusion_units", "int", "Red-cell units transfused.", unit="units", min_=0, max_=200
        ),
        _c("length_of_stay_days", "int", "Length of hospital stay.", unit="days", min_=0, max_=365),
        _c(
            "conversion",
            "enum",
            "Conversion (to open surgery or to radical nephrectomy).",
            enum=CONVERSIONS,
        ),
        _bool("dialysis_expected_preop", "Dialysis expected after surgery (known pre-op)."),
        _c(
            "parent_intervention_id",
            "str",
            "Earlier intervention this one is salvage of; blank = derive (salvage lineage).",
            references=INTERVENTION_REF,
        ),
    ),
)

_PATHOLOGY = FileSpec(
    name="pathology",
    form_label="Pathology",
    description="Final pathology of a surgical specimen or biopsy; one row per intervention.",
    key=("intervention_id",),
    columns=(
        _c(
            "intervention_id",
            "str",
            "Intervention the specimen came from.",
            required=True,
            references=INTERVENTION_REF,
        ),
        _c("histology", "enum", "Histology (WHO 2022 subtype, as for tumours).", enum=HISTOLOGIES),
        _c("isup_grade", "int", "WHO/ISUP nuclear grade.", min_=1, max_=4),
        _c("pt", "enum", "Pathological T category (AJCC 8).", enum=T_CATEGORIES),
        _c("pn", "enum", "Pathological N category (AJCC 8).", enum=N_CATEGORIES),
        _c("pm", "enum", "M category at pathology (AJCC 8).", enum=M_CATEGORIES),
        _c(
            "tnm_prefix",
            "enum",
            "TNM prefix of pt/pn/pm that carries meaning. Values: y classified during or after "
            "initial multimodality (e.g. neoadjuvant) therapy (ypT); r recurrent tumour after a "
            "disease-free interval (rpT); a at autopsy; yr both y and r; blank none, the "
            "primary pathological classification (the p itself is not kept).",
            enum=TNM_PREFIXES,
        ),
        _c(
            "size_mm", "float", "Pathological maximum tumour diameter.", unit="mm", min_=1, max_=400
        ),
        _c("margin", "enum", "Surgical margin.", enum=MARGINS),
        _bool("necrosis", "Tumour necrosis present."),
        _bool("sarcomatoid", "Sarcomatoid differentiation present."),
    ),
)

_COMPLICATIONS = FileSpec(
    name="complications",
    form_label="Complication",
    description=(
        "One row per complication; key: intervention_id + the row's order among that "
        "intervention's complications."
    ),
    key=("intervention_id", "seq"),
    columns=(
        _c("intervention_id", "str", "Intervention.", required=True, references=INTERVENTION_REF),
        _c("date", "date", "Date of the complication."),
        _c(
            "clavien_dindo",
            "enum",
            "Clavien–Dindo grade; optional suffix -d (disability at discharge), e.g. IIIa-d.",
            required=True,
            enum=CLAVIEN_GRADES,
        ),
        _c("description", "str", "Free-text description.", phi="free_text"),
    ),
)

_LABS = FileSpec(
    name="labs",
    form_label="Laboratory",
    description=(
        "One row per laboratory value; key: patient_id + date + test (one value of a test "
        "per patient per day)."
    ),
    key=("patient_id", "date", "test"),
    columns=(
        _c("patient_id", "str", "Patient.", required=True, references=PATIENT_REF),
        _c("date", "date", "Sampling date.", required=True),
        _c("test", "enum", "Test.", required=True, enum=LAB_TESTS),
        _c("value", "float", "Result.", required=True),
        _c(
            "comparator",
            "enum",
            "Censored result: the value is a limit (e.g. eGFR reported as >90 → value 90, "
            "comparator >). Blank = the value was measured.",
            enum=COMPARATORS,
        ),
        _c(
            "unit",
            "str",
            "Unit as reported (creatinine: mg/dL or µmol/L; eGFR: mL/min/1.73m2).",
            required=True,
        ),
        _c("lln", "float", "Lower limit of normal (same unit)."),
        _c("uln", "float", "Upper limit of normal (same unit)."),
        _c(
            "equation",
            "str",
            "Equation of a lab-reported eGFR (mdrd, ckd-epi-2009, ckd-epi-2021, or as reported).",
        ),
    ),
)

_EVENTS = FileSpec(
    name="events",
    form_label="Event",
    description=(
        "Follow-up events; key: patient_id + tumour_id + date + type (one event of a type per "
        "tumour per day)."
    ),
    key=("patient_id", "tumour_id", "date", "type"),
    columns=(
        _c("patient_id", "str", "Patient.", required=True, references=PATIENT_REF),
        _c("tumour_id", "str", "Tumour concerned (blank = patient-level).", references=TUMOUR_REF),
        _c("date", "date", "Date of the event.", required=True),
        _c("type", "enum", "Event type.", required=True, enum=EVENT_TYPES),
        _c(
            "detail",
            "str",
            "Free-text detail (blanked by de-identification; record metastasis sites in "
            "metastases.csv).",
            phi="free_text",
        ),
    ),
)

_STAGING = FileSpec(
    name="staging",
    form_label="Staging",
    description=(
        "TNM staging as recorded (clinical, pathological, after neoadjuvant therapy or at "
        "recurrence), with its stage group and AJCC edition; key: tumour_id + date + "
        "classification. The categories are written without their prefix (T1a, N0, M1)."
    ),
    key=("tumour_id", "date", "classification"),
    columns=(
        _c("tumour_id", "str", "Tumour staged.", required=True, references=TUMOUR_REF),
        _c("date", "date", "Date of the staging.", required=True),
        _c(
            "classification",
            "enum",
            "AJCC classification: c clinical, p pathological, yc/yp after neoadjuvant therapy, "
            "rc/rp at recurrence.",
            required=True,
            enum=STAGING_CLASSIFICATIONS,
        ),
        _c("t_category", "enum", "T category.", enum=T_CATEGORIES),
        _c("n_category", "enum", "N category.", enum=N_CATEGORIES),
        _c("m_category", "enum", "M category.", enum=M_CATEGORIES),
        _c("stage_group", "enum", "Stage group as recorded.", enum=STAGE_GROUPS),
        _c(
            "ajcc_edition",
            "enum",
            "AJCC Cancer Staging Manual edition.",
            required=True,
            enum=AJCC_EDITIONS,
        ),
        _c("basis", "enum", "What the staging rests on.", enum=STAGING_BASES),
    ),
)

_PERFORMANCE = FileSpec(
    name="performance",
    form_label="Performance status",
    description=(
        "Performance status assessments; key: patient_id + date (ECOG, Karnofsky or both)."
    ),
    key=("patient_id", "date"),
    columns=(
        _c("patient_id", "str", "Patient.", required=True, references=PATIENT_REF),
        _c("date", "date", "Date of the assessment.", required=True),
        _c("ecog", "int", "ECOG performance status (0 fully active … 5 dead).", min_=0, max_=5),
        _c(
            "karnofsky",
            "int",
            "Karnofsky performance status, in steps of 10 (100 normal … 0 dead).",
            unit="%",
            min_=0,
            max_=100,
        ),
    ),
)

_DISEASE_STATUS = FileSpec(
    name="disease_status",
    form_label="Disease status",
    description=(
        "Disease-status assessments (the clinician's judgement of the trend); key: "
        "patient_id + tumour_id + date."
    ),
    key=("patient_id", "tumour_id", "date"),
    columns=(
        _c("patient_id", "str", "Patient.", required=True, references=PATIENT_REF),
        _c(
            "tumour_id",
            "str",
            "Tumour assessed (blank = the patient's disease).",
            references=TUMOUR_REF,
        ),
        _c("date", "date", "Date of the assessment.", required=True),
        _c("status", "enum", "Disease status trend.", required=True, enum=DISEASE_STATUSES),
        _c("evidence", "enum", "Main evidence of the assessment.", enum=STATUS_EVIDENCE),
    ),
)

_METASTASES = FileSpec(
    name="metastases",
    form_label="Metastasis",
    description=(
        "Distant metastases, one row per site; key: patient_id + date + site (the coded form "
        "of a distant_metastasis event's site)."
    ),
    key=("patient_id", "date", "site"),
    columns=(
        _c("patient_id", "str", "Patient.", required=True, references=PATIENT_REF),
        _c("tumour_id", "str", "Primary tumour (blank = unknown).", references=TUMOUR_REF),
        _c("date", "date", "Date the metastasis was diagnosed.", required=True),
        _c("site", "enum", "Body site.", required=True, enum=BODY_SITES),
        _c("detection", "enum", "How it was found.", enum=METASTASIS_DETECTION),
    ),
)

_SYSTEMIC = FileSpec(
    name="systemic_therapy",
    form_label="Systemic therapy",
    description=(
        "Systemic therapy courses, one row per agent; key: patient_id + agent + start_date. "
        "Agents given together share the regimen (their names joined by +)."
    ),
    key=("patient_id", "agent", "start_date"),
    columns=(
        _c("patient_id", "str", "Patient.", required=True, references=PATIENT_REF),
        _c(
            "tumour_id",
            "str",
            "Tumour treated (blank = the patient's disease).",
            references=TUMOUR_REF,
        ),
        _c(
            "agent",
            "enum",
            "Agent (codes in registry/codes/agents.csv).",
            required=True,
            enum=AGENTS,
        ),
        _c(
            "regimen",
            "str",
            "Regimen: the agents given together, joined by + (e.g. nivolumab+ipilimumab); "
            "blank = this agent alone.",
        ),
        _c("line", "int", "Line of systemic therapy (1 = first line).", min_=1, max_=15),
        _c("start_date", "date", "First administration.", required=True),
        _c("end_date", "date", "Last administration (blank = ongoing or unknown)."),
        _c("stop_reason", "enum", "Why the course ended.", enum=STOP_REASONS),
    ),
)

_RADIOTHERAPY = FileSpec(
    name="radiotherapy",
    form_label="Radiotherapy",
    description="Radiotherapy courses; key: patient_id + start_date + site.",
    key=("patient_id", "start_date", "site"),
    columns=(
        _c("patient_id", "str", "Patient.", required=True, references=PATIENT_REF),
        _c(
            "tumour_id",
            "str",
            "Tumour treated (blank = a metastasis or unknown).",
            references=TUMOUR_REF,
        ),
        _c("start_date", "date", "First fraction.", required=True),
        _c("end_date", "date", "Last fraction."),
        _c("modality", "enum", "Radiotherapy modality.", enum=RT_MODALITIES),
        _c("site", "enum", "Body site treated.", required=True, enum=BODY_SITES),
        _c("dose_gy", "float", "Total dose delivered.", unit="Gy", min_=0.1, max_=200),
        _c("fractions", "int", "Number of fractions delivered.", min_=1, max_=100),
    ),
)

FILES: dict[str, FileSpec] = {
    spec.name: spec
    for spec in (
        _PATIENTS,
        _TUMOURS,
        _IMAGING,
        _INTERVENTIONS,
        _PATHOLOGY,
        _COMPLICATIONS,
        _LABS,
        _EVENTS,
        _STAGING,
        _PERFORMANCE,
        _DISEASE_STATUS,
        _METASTASES,
        _SYSTEMIC,
        _RADIOTHERAPY,
    )
}
# The files of earlier releases; a folder holding only these still imports.
CORE_FILES = (
    "patients",
    "tumours",
    "imaging",
    "interventions",
    "pathology",
    "complications",
    "labs",
    "events",
)
CODED_FILES = tuple(name for name in FILES if name not in CORE_FILES)


def header(file_name: str) -> list[str]:
    """CSV header of a registry file, by name with or without `.csv`."""
    return list(FILES[file_name.removesuffix(".csv")].column_names)


def column(file_name: str, column_name: str) -> ColumnSpec:
    """The definition of one column."""
    return FILES[file_name.removesuffix(".csv")].column(column_name)
