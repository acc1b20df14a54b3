"""Synthetic registry rows, one patient at a time (a lazy iterator, so memory stays flat).

`iter_patients(n, seed)` yields, per patient, a mapping from registry file name (the CSV contract,
`registry.dictionary.FILES`) to that patient's rows as `{column: text}` dicts.  Values are
already formatted as the CSV contract wants them (ISO dates, `true`/`false`, blank = missing),
so writing is a matter of putting them in header order.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from renalpath.clinical.egfr import ckd_epi_2009_formula, ckd_epi_2021_formula
from renalpath.clinical.units import CREATININE_UMOL_PER_MG_DL, MG_DL, UMOL_L
from renalpath.registry.cells import format_number
from renalpath.synth import distributions as D
from renalpath.synth.coded import coded_rows
from renalpath.synth.course import Course
from renalpath.synth.draws import Draws
from renalpath.synth.model import KIDNEY_ABLATION, KIDNEY_PN, KIDNEY_RN, Op

Rows = dict[str, list[dict[str, str]]]

CODED_STREAM = 1  # the coded records draw from their own stream (`synth.coded`)

_ISO_CACHE: dict[int, str] = {}
# A laboratory that reports eGFR used CKD-EPI 2009 until the 2021 race-free equation was
# adopted; the switch date is a synthetic choice [P] that exercises FU-05 (never mix equations).
_EGFR_2021_FROM = date(2022, 1, 1).toordinal()
EGFR_UNIT = "mL/min/1.73m2"

# Other laboratory tests: (unit, lln, uln, median, log-sd) — typical adult reference
# intervals, synthetic [P]; used only to make IMDC-style inputs look plausible.
_OTHER_LABS = {
    "calcium": ("mg/dL", "8.5", "10.5", 9.5, 0.06),
    "albumin": ("g/dL", "3.5", "5", 4.0, 0.1),
    "ldh": ("U/L", "120", "250", 210.0, 0.3),
    "neutrophils": ("10^9/L", "1.8", "7.5", 4.5, 0.35),
    "platelets": ("10^9/L", "150", "400", 260.0, 0.3),
}


def iso(day: int) -> str:
    """ISO date of an ordinal (cached: the same few thousand days recur across patients)."""
    text = _ISO_CACHE.get(day)
    if text is None:
        text = date.fromordinal(day).isoformat()
        _ISO_CACHE[day] = text
    return text


def _dec(value: float, ndigits: int) -> str:
    """A rounded number in the registry's canonical cell form (shortest round-trip text,
    integral values without ".0"), so import → export gives the same bytes back."""
    return format_number(round(value, ndigits))


def _num(value: int | None) -> str:
    return "" if value is None else str(value)


def iter_patients(n: int, seed: int) -> Iterator[Rows]:
    """Rows of patients 1..n; the same (n, seed) always gives the same rows.

    One random stream serves all patients in order, so patient k's rows do not depend on `n`
    (a larger cohort with the same seed starts with the same patients).
    """
    if n < 0:
        raise ValueError(f"patients: {n} is not allowed (allowed: 0 or more)")
    if seed < 0:
        raise ValueError(f"seed: {seed} is not allowed (allowed: 0 or more)")
    draws = Draws(seed)
    coded = Draws(seed, stream=CODED_STREAM)
    width = max(6, len(str(n)))
    for index in range(1, n + 1):
        course = Course(draws, f"SYN{index:0{width}d}")
        course.run()
        rows = _rows(course, draws)
        rows.update(coded_rows(course, coded))
        yield rows


def _rows(c: Course, d: Draws) -> Rows:
    p = c.patient
    pid = p.patient_id
    patients = [
        {
            "patient_id": pid,
            "sex": p.sex,
            "birth_date": iso(p.birth),
            "black_race": p.black_race,
            "solitary_kidney": p.solitary_kidney,
            "hereditary_syndrome": p.hereditary,
            "death_date": iso(c.death_date) if c.death_date is not None else "",
            "death_cause": c.death_cause if c.death_date is not None else "",
            "last_contact_date": iso(c.last_contact) if c.last_contact is not None else "",
        }
    ]
    operated = {
        o.tumour.tumour_id for o in c.ops if o.tumour is not None and o.pathology is not None
    }
    tumours = []
    for t in c.tumours:
        if t.tumour_id in operated:
            histology = t.histology
        elif t.biopsy_done:
            histology = t.biopsy_result
        else:
            histology = "unknown"
        tumours.append(
            {
                "tumour_id": t.tumour_id,
                "patient_id": pid,
                "side": t.side,
                "diagnosis_date": iso(t.dx),
                "histology": histology,
                "ct": t.ct,
                "cn": t.cn,
                "cm": t.cm,
            }
        )
    imaging = []
    seen_imaging: set[tuple[str, int, str]] = set()
    # Rows go out in each file's key order (dictionary `FileSpec.key`), as the exporter writes
    # them, so a synthetic folder survives import → export byte for byte.
    for im in sorted(c.imaging, key=lambda i: (i.tumour_id, i.date, i.modality)):
        key = (im.tumour_id, im.date, im.modality)
        if key in seen_imaging:
            continue
        seen_imaging.add(key)
        row = {
            "tumour_id": im.tumour_id,
            "date": iso(im.date),
            "modality": im.modality,
            "size_mm": str(im.size_mm),
        }
        if im.nephrometry:
            row.update(im.nephrometry)
        imaging.append(row)
    interventions: list[dict[str, str]] = []
    pathology: list[dict[str, str]] = []
    complications: list[dict[str, str]] = []
    for op in sorted(c.ops, key=lambda o: o.op_id):
        interventions.append(_intervention_row(pid, op))
        if op.pathology is not None:
            pathology.append({"intervention_id": op.op_id, **op.pathology})
        for comp in op.complications:
            complications.append(
                {
                    "intervention_id": op.op_id,
                    "date": iso(comp.date),
                    "clavien_dindo": comp.grade,
                    "description": comp.description,
                }
            )
    return {
        "patients": patients,
        "tumours": tumours,
        "imaging": imaging,
        "interventions": interventions,
        "pathology": pathology,
        "complications": complications,
        "labs": _labs(c, d),
        "events": _events(c, d),
    }


def _intervention_row(pid: str, op: Op) -> dict[str, str]:
    return {
        "intervention_id": op.op_id,
        "patient_id": pid,
        "tumour_id": op.tumour.tumour_id if op.tumour is not None else "",
        "date": iso(op.date),
        "type": op.type,
        "side": op.side_written,
        "approach": op.approach,
        "intent": op.intent_written,
        "warm_ischemia_min": _num(op.warm_ischemia_min),
        "cold_ischemia_min": _num(op.cold_ischemia_min),
        "blood_loss_ml": _num(op.blood_loss_ml),
        "operative_time_min": _num(op.operative_time_min),
        "transfusion_units": _num(op.transfusion_units),
        "length_of_stay_days": _num(op.length_of_stay_days),
        "conversion": op.conversion,
        "dialysis_expected_preop": op.dialysis_expected_preop,
        "parent_intervention_id": op.parent_written,
    }


def _events(c: Course, d: Draws) -> list[dict[str, str]]:
    pid = c.patient.patient_id
    items: list[tuple[str, int, str, str]] = [
        (e.tumour_id, e.date, e.type, e.detail) for e in c.events
    ]
    for start, stop in c.dialysis:
        items.append(("", start, "dialysis_start", ""))
        if stop is not None:
            items.append(("", stop, "dialysis_end", ""))
    if c.death_date is not None and d.chance(D.P_DEATH_EVENT):
        items.append(("", c.death_date, "death", c.death_cause))
    if c.death_date is None and c.last_contact is not None and d.chance(D.P_LAST_FOLLOWUP_EVENT):
        items.append(("", c.last_contact, "last_followup", ""))
    rows = []
    seen: set[tuple[str, int, str]] = set()
    for tumour_id, day, type_, detail in sorted(items):
        key = (tumour_id, day, type_)
        if key in seen:
            continue
        seen.add(key)
        rows.append(
            {
                "patient_id": pid,
                "tumour_id": tumour_id,
                "date": iso(day),
                "type": type_,
                "detail": detail,
            }
        )
    return rows


def _labs(c: Course, d: Draws) -> list[dict[str, str]]:
    """Creatinine trajectory (and a few other tests) up to the end of follow-up.

    Creatinine = patient baseline × the long-run factor of every earlier kidney operation ×
    slow drift with time × day-to-day noise, with an acute rise in the first post-operative
    days and dialysis-range values while on dialysis [P, synthetic].
    """
    p = c.patient
    end = c.horizon
    kidney_ops = sorted((o for o in c.ops if o.kidney is not None), key=lambda o: o.date)
    first_treatment = kidney_ops[0].date if kidney_ops else p.dx
    days: set[int] = {p.dx - d.int_between(0, 21)}
    previous = p.dx - 10_000
    for op in kidney_ops:
        pre = op.date - d.int_between(1, 10)
        days.add(pre if pre > previous else op.date)
        days.add(op.date + 1)
        if d.chance(0.5):
            days.add(op.date + 2)
        days.add(op.date + d.int_between(25, 40))
        days.add(op.date + d.int_between(80, 110))
        previous = op.date
    day = first_treatment + d.int_between(300, 420)
    while day <= end and len(days) < 40:
        days.add(day)
        day += d.int_between(300, 430)

    rows: list[dict[str, str]] = []
    female = p.sex == "female"
    for day in sorted(x for x in days if p.birth < x <= end):
        value = _creatinine(c, kidney_ops, day, d)
        if p.lab_in_umol:
            rows.append(
                _lab(
                    p.patient_id,
                    day,
                    "creatinine",
                    str(round(value * CREATININE_UMOL_PER_MG_DL)),
                    UMOL_L,
                )
            )
        else:
            rows.append(_lab(p.patient_id, day, "creatinine", _dec(value, 2), MG_DL))
        if p.lab_reports_egfr:
            age = (day - p.birth) / D.DAYS_PER_YEAR
            if day >= _EGFR_2021_FROM:
                egfr, equation = ckd_epi_2021_formula(value, age, female), "ckd-epi-2021"
            else:
                black = p.black_race == "true"
                egfr, equation = ckd_epi_2009_formula(value, age, female, black), "ckd-epi-2009"
            row = _lab(p.patient_id, day, "egfr", str(round(egfr)), EGFR_UNIT)
            row["equation"] = equation
            rows.append(row)
    # Haemoglobin before major surgery, and IMDC-type laboratory values at metastatic diagnosis.
    lln, uln, median = ("12", "15.5", 13.2) if female else ("13.5", "17.5", 14.6)
    extra: dict[tuple[int, str], dict[str, str]] = {}
    for op in kidney_ops:
        if op.kidney in (KIDNEY_PN, KIDNEY_RN):
            day = op.date - d.int_between(1, 10)
            if p.birth < day <= end:
                hb = d.bounded_lognormal(median, 0.09, 7.0, 19.0)
                extra[(day, "hemoglobin")] = _lab(
                    p.patient_id, day, "hemoglobin", _dec(hb, 1), "g/dL", lln, uln
                )
    metastatic = [t.dx for t in c.tumours if t.cm == "M1"]
    metastatic += [e.date for e in c.events if e.type == "distant_metastasis"]
    for day in metastatic[:1]:
        if not p.birth < day <= end:
            continue
        hb = d.bounded_lognormal(median * 0.9, 0.12, 6.0, 19.0)
        extra[(day, "hemoglobin")] = _lab(
            p.patient_id, day, "hemoglobin", _dec(hb, 1), "g/dL", lln, uln
        )
        for test, (unit, lo, hi, mid, sd) in _OTHER_LABS.items():
            value = d.lognormal(mid, sd)
            text = _dec(value, 1) if mid < 100 else str(round(value))
            extra[(day, test)] = _lab(p.patient_id, day, test, text, unit, lo, hi)
    rows.extend(extra.values())
    rows.sort(key=lambda r: (r["date"], r["test"]))  # key order: patient, date, test
    return rows


def _lab(
    pid: str, day: int, test: str, value: str, unit: str, lln: str = "", uln: str = ""
) -> dict[str, str]:
    return {
        "patient_id": pid,
        "date": iso(day),
        "test": test,
        "value": value,
        "unit": unit,
        "lln": lln,
        "uln": uln,
        "equation": "",
    }


def _creatinine(c: Course, kidney_ops: list[Op], day: int, d: Draws) -> float:
    """Serum creatinine (mg/dL) on `day`."""
    for start, stop in c.dialysis:
        if start <= day and (stop is None or day < stop):
            return d.bounded_lognormal(6.5, 0.2, 3.0, 12.0)  # pre-dialysis values
    value = c.patient.creatinine_base
    for op in kidney_ops:
        if op.date < day:
            value *= op.renal_factor
            since = day - op.date
            if since <= 3:  # acute post-operative rise, settling within days
                value *= (
                    1.0 + D.ACUTE_RISE[op.kidney or KIDNEY_ABLATION] * d.uniform(0.5, 1.5) / since
                )
    years = max(0, day - c.patient.dx) / D.DAYS_PER_YEAR
    value *= 1.0 + D.CREAT_DRIFT_PER_YEAR * years
    value *= d.lognormal(1.0, 0.06)
    return min(15.0, max(0.3, value))
