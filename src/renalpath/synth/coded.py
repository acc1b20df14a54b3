"""Synthetic coded records (staging, performance status, disease status, metastases, systemic
therapy and radiotherapy courses) for one simulated patient.

They are drawn from their own random stream (`Draws(seed, stream=1)`), so adding them left
every file of earlier releases byte-identical for a given seed. Everything is read off the
patient's course (tumours, operations, failure events) and kept within the follow-up horizon,
so the rows pass the importer's rules without a warning. All shares and durations are
synthetic choices [P], chosen to exercise every field, not estimates of practice.
"""

from __future__ import annotations

from datetime import date

from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.staging import stage_group
from renalpath.registry.cells import format_number
from renalpath.synth.course import Course
from renalpath.synth.draws import Draws

Rows = dict[str, list[dict[str, str]]]

# The sites the course writes in a distant_metastasis event's detail → registry body site.
EVENT_SITES = {
    "lung": "lung",
    "bone": "bone",
    "liver": "liver",
    "lymph nodes": "lymph_node",
    "brain": "brain",
}
_SITES_AT_DIAGNOSIS = (
    ("lung", 0.5),
    ("bone", 0.2),
    ("lymph_node", 0.15),
    ("liver", 0.08),
    ("adrenal", 0.05),
    ("brain", 0.02),
)
# First-line regimens (agents given together) and their shares [P].
Regimens = tuple[tuple[tuple[str, ...], float], ...]
_FIRST_LINE: Regimens = (
    (("pembrolizumab", "axitinib"), 0.35),
    (("nivolumab", "ipilimumab"), 0.3),
    (("nivolumab", "cabozantinib"), 0.15),
    (("sunitinib",), 0.1),
    (("pazopanib",), 0.1),
)
_SECOND_LINE: Regimens = ((("cabozantinib",), 0.6), (("axitinib",), 0.2), (("everolimus",), 0.2))
_ENDS = (("progression", 0.55), ("toxicity", 0.25), ("completed", 0.1), ("patient_choice", 0.1))
_PALLIATIVE_RT = ((8.0, 1, 0.4), (20.0, 5, 0.35), (30.0, 10, 0.25))  # dose Gy, fractions [P]
_RT_SITES = ("bone", "spine", "brain")


def _iso(day: int) -> str:
    return date.fromordinal(day).isoformat()


def _group(t: str, n: str, m: str) -> str:
    if not (t and n and m):
        return ""
    try:
        return stage_group(t, n, m)
    except ClinicalInputError:
        return ""


def coded_rows(c: Course, d: Draws) -> Rows:
    """The coded records of one simulated patient, each file in its key order."""
    pid = c.patient.patient_id
    end = c.horizon
    metastases = _metastases(c, d)
    return {
        "staging": _staging(c),
        "performance": _performance(c, d, metastases),
        "disease_status": _disease_status(c, d),
        "metastases": metastases,
        "systemic_therapy": _systemic(c, d, end),
        "radiotherapy": _radiotherapy(c, d, end, metastases, pid),
    }


def _staging(c: Course) -> list[dict[str, str]]:
    rows: dict[tuple[str, str, str], dict[str, str]] = {}
    for t in c.tumours:
        key = (t.tumour_id, _iso(t.dx), "c")
        rows[key] = {
            "tumour_id": t.tumour_id,
            "date": _iso(t.dx),
            "classification": "c",
            "t_category": t.ct,
            "n_category": t.cn,
            "m_category": t.cm,
            "stage_group": _group(t.ct, t.cn, t.cm),
            "ajcc_edition": "8",
            "basis": "imaging",
        }
    for op in c.ops:
        path = op.pathology or {}
        if op.tumour is None or not path.get("pt"):
            continue
        key = (op.tumour.tumour_id, _iso(op.date), "p")
        pt, pn, pm = path.get("pt", ""), path.get("pn", ""), path.get("pm", "")
        rows[key] = {
            "tumour_id": op.tumour.tumour_id,
            "date": _iso(op.date),
            "classification": "p",
            "t_category": pt,
            "n_category": pn,
            "m_category": pm,
            "stage_group": _group(pt, pn, pm),
            "ajcc_edition": "8",
            "basis": "pathology",
        }
    return [rows[k] for k in sorted(rows)]


def _ecog(d: Draws, frail: bool, metastatic: bool) -> int:
    if frail or metastatic:
        return d.pick(((0, 0.2), (1, 0.45), (2, 0.25), (3, 0.08), (4, 0.02)))
    return d.pick(((0, 0.65), (1, 0.3), (2, 0.05)))


def _performance(c: Course, d: Draws, metastases: list[dict[str, str]]) -> list[dict[str, str]]:
    """At diagnosis, and at the first metastasis; some sites record Karnofsky instead of, or
    beside, ECOG [P]."""
    p = c.patient
    days = [p.dx] + [date.fromisoformat(m["date"]).toordinal() for m in metastases[:1]]
    rows: dict[int, dict[str, str]] = {}
    for n, day in enumerate(days):
        if day > c.horizon or day in rows:
            continue
        ecog = _ecog(d, p.frail, n > 0)
        style = d.pick((("ecog", 0.7), ("karnofsky", 0.15), ("both", 0.15)))
        kps = str(max(10, min(100, 100 - 10 * d.int_between(0, 2 + 2 * ecog))))
        rows[day] = {
            "patient_id": p.patient_id,
            "date": _iso(day),
            "ecog": "" if style == "karnofsky" else str(ecog),
            "karnofsky": "" if style == "ecog" else kps,
        }
    return [rows[k] for k in sorted(rows)]


def _disease_status(c: Course, d: Draws) -> list[dict[str, str]]:
    """Worsened at each recorded failure; stable or improved at the first follow-up imaging
    of a treated tumour without one [P]."""
    pid = c.patient.patient_id
    rows: dict[tuple[str, int], dict[str, str]] = {}
    failed: set[str] = set()
    for e in c.events:
        if e.type in ("residual_disease", "local_recurrence", "distant_metastasis"):
            failed.add(e.tumour_id)
            rows[(e.tumour_id, e.date)] = _status(pid, e.tumour_id, e.date, "worsened", "imaging")
    for op in c.ops:
        if op.tumour is None or op.tumour.tumour_id in failed or op.type == "active_surveillance":
            continue
        day = op.date + d.int_between(80, 120)
        if day <= c.horizon and (op.tumour.tumour_id, day) not in rows:
            status = d.pick((("improved", 0.8), ("stable", 0.15), ("undetermined", 0.05)))
            evidence = "imaging" if d.chance(0.9) else "physical_exam"
            rows[(op.tumour.tumour_id, day)] = _status(
                pid, op.tumour.tumour_id, day, status, evidence
            )
    return [rows[k] for k in sorted(rows)]


def _status(pid: str, tumour_id: str, day: int, status: str, evidence: str) -> dict[str, str]:
    return {
        "patient_id": pid,
        "tumour_id": tumour_id,
        "date": _iso(day),
        "status": status,
        "evidence": evidence,
    }


def _metastases(c: Course, d: Draws) -> list[dict[str, str]]:
    """The site of each distant_metastasis event, and one site for a tumour M1 at diagnosis."""
    pid = c.patient.patient_id
    rows: dict[tuple[int, str], dict[str, str]] = {}
    for t in c.tumours:
        if t.cm == "M1" and t.dx <= c.horizon:
            site = d.pick(_SITES_AT_DIAGNOSIS)
            rows[(t.dx, site)] = _met(pid, t.tumour_id, t.dx, site, "imaging")
    for e in c.events:
        event_site = EVENT_SITES.get(e.detail)
        if e.type == "distant_metastasis" and event_site is not None:
            detection = "biopsy" if d.chance(0.2) else "imaging"
            rows[(e.date, event_site)] = _met(pid, e.tumour_id, e.date, event_site, detection)
    return [rows[k] for k in sorted(rows)]


def _met(pid: str, tumour_id: str, day: int, site: str, detection: str) -> dict[str, str]:
    return {
        "patient_id": pid,
        "tumour_id": tumour_id,
        "date": _iso(day),
        "site": site,
        "detection": detection,
    }


def _systemic(c: Course, d: Draws, end: int) -> list[dict[str, str]]:
    """First line from each systemic-therapy start, a second line after progression [P]."""
    pid = c.patient.patient_id
    rows: dict[tuple[str, int], dict[str, str]] = {}
    starts = sorted({op.date for op in c.ops if op.type == "systemic_therapy"})
    for first in starts[:1]:
        regimens: Regimens = _FIRST_LINE
        day, line = first, 1
        while day <= end and line <= 2:
            agents = d.pick(regimens)
            stop = day + int(d.exponential(270.0))
            reason = d.pick(_ENDS)
            if stop > end:  # still on treatment at the end of follow-up, or died on it
                stop_text, reason = ("", "") if c.death_date is None else (_iso(end), "death")
            else:
                stop_text = _iso(stop)
            regimen = "+".join(agents) if len(agents) > 1 else ""
            for agent in agents:
                rows[(agent, day)] = {
                    "patient_id": pid,
                    "tumour_id": "",
                    "agent": agent,
                    "regimen": regimen,
                    "line": str(line),
                    "start_date": _iso(day),
                    "end_date": stop_text,
                    "stop_reason": reason,
                }
            if reason != "progression":
                break
            day, line, regimens = stop + d.int_between(14, 42), line + 1, _SECOND_LINE
    return [rows[k] for k in sorted(rows)]


def _radiotherapy(
    c: Course, d: Draws, end: int, metastases: list[dict[str, str]], pid: str
) -> list[dict[str, str]]:
    rows: dict[tuple[int, str], dict[str, str]] = {}
    sites = [m["site"] for m in metastases if m["site"] in _RT_SITES]
    for op in c.ops:
        if op.type != "radiotherapy":
            continue
        site = sites[0] if sites else d.pick((("bone", 0.5), ("spine", 0.4), ("brain", 0.1)))
        dose, fractions = d.pick(tuple(((g, f), w) for g, f, w in _PALLIATIVE_RT))
        last = op.date + (fractions - 1) * 7 // 5  # five fractions a week [P]
        complete = last <= end
        rows[(op.date, site)] = {
            "patient_id": pid,
            "tumour_id": "",
            "start_date": _iso(op.date),
            "end_date": _iso(last) if complete else "",
            "modality": "photons",
            "site": site,
            "dose_gy": format_number(dose) if complete else "",
            "fractions": str(fractions) if complete else "",
        }
    return [rows[k] for k in sorted(rows)]
