"""The in-memory story of one synthetic patient, before it becomes CSV rows.

Only one patient's story exists at a time; the generator turns it into rows and drops it, which
is what keeps memory flat however many patients are generated.  Dates are proleptic-Gregorian
ordinals (`date.toordinal()`), so date arithmetic is plain integer arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Internal grouping of intervention types by their effect on the kidney.
KIDNEY_PN = "partial_nephrectomy"
KIDNEY_RN = "radical_nephrectomy"
KIDNEY_ABLATION = "ablation"


@dataclass(slots=True)
class Patient:
    patient_id: str
    sex: str
    birth: int
    dx: int
    age_at_dx: float
    frail: bool
    solitary_kidney: str
    hereditary: str
    black_race: str
    creatinine_base: float  # mg/dL
    lab_in_umol: bool
    lab_reports_egfr: bool


@dataclass(slots=True)
class Tumour:
    tumour_id: str
    side: str
    dx: int
    size_mm: int
    extension: str
    ct: str
    cn: str
    cm: str
    histology: str  # the truth, revealed by biopsy or pathology
    central: bool
    biopsy_done: bool = False
    biopsy_result: str = "unknown"


@dataclass(slots=True)
class Complication:
    date: int
    grade: str
    description: str


@dataclass(slots=True)
class Op:
    op_id: str
    tumour: Tumour | None
    date: int
    type: str
    approach: str
    intent: str  # the true intent (primary|salvage|cytoreductive|palliative)
    kidney: str | None = None  # KIDNEY_* when the operation changes renal function
    intent_written: str = ""
    parent: Op | None = None
    parent_written: str = ""
    side_written: str = ""
    warm_ischemia_min: int | None = None
    cold_ischemia_min: int | None = None
    blood_loss_ml: int | None = None
    operative_time_min: int | None = None
    transfusion_units: int | None = None
    length_of_stay_days: int | None = None
    conversion: str = ""
    dialysis_expected_preop: str = ""
    pathology: dict[str, str] | None = None
    complications: list[Complication] = field(default_factory=list)
    renal_factor: float = 1.0  # long-run creatinine multiplier after this operation


@dataclass(slots=True)
class Event:
    tumour_id: str
    date: int
    type: str
    detail: str


@dataclass(slots=True)
class Imaging:
    tumour_id: str
    date: int
    modality: str
    size_mm: int
    nephrometry: dict[str, str] | None = None
