"""FHIR → coded registry records, for resources of other senders (renalpath's own carry their
rows in the `registry-row` extension and are read by `importer`).

What is read, each only for a patient imported from the same set:

* ECOGPerformanceStatus / KarnofskyPerformanceStatus (LOINC 89247-1 / 89243-0) with a
  valueInteger → `performance` (one row per patient and day, ECOG and Karnofsky together);
* CancerDiseaseStatus (LOINC 97509-4) with a condition-status-trend value → `disease_status`
  (its focus, when given, must be an imported tumour);
* SecondaryCancerCondition (the mCODE profile, or SNOMED CT 128462008) with a body site the
  registry codes → `metastases`;
* CancerRelatedMedicationRequest, and MedicationAdministration over a period, with an RxNorm
  or ATC code of `registry/codes/agents.csv` → `systemic_therapy` (a single administration
  is not a course and is reported as not imported).

Anything else of those kinds is reported as not imported, with the reason; a resource that
claims one of these profiles but cannot be read (no date, a value outside the value set) is
an error.
"""

from __future__ import annotations

from typing import Any

from renalpath.interop.fhir import codes as c
from renalpath.registry.dictionary import FILES

Resource = dict[str, Any]


def _codings(concept: Any) -> list[dict[str, Any]]:
    return list((concept or {}).get("coding") or []) if isinstance(concept, dict) else []


def _date(value: Any) -> str:
    return value[:10] if isinstance(value, str) else ""


def _row(file: str, **cells: str) -> dict[str, str]:
    row = {col: "" for col in FILES[file].column_names}
    row.update(cells)
    return row


def _loinc(res: Resource) -> set[str]:
    return {str(cd.get("code")) for cd in _codings(res.get("code")) if cd.get("system") == c.LOINC}


def read(reader: Any, where: Any, res: Resource, profiles: set[str]) -> bool:
    """True when `res` was mapped, skipped or refused here (one of the kinds above)."""
    kind = res["resourceType"]
    if kind == "BodyStructure" and c.PROFILE["radiotherapy_volume"] in profiles:
        reader.skip(where, res, "radiotherapy volume: its course carries the site (not stored)")
        return True
    if kind == "Observation":
        codes = _loinc(res)
        if codes & {c.LOINC_ECOG, c.LOINC_KARNOFSKY}:
            _performance(reader, where, res, "ecog" if c.LOINC_ECOG in codes else "karnofsky")
            return True
        if c.LOINC_DISEASE_STATUS in codes:
            _disease_status(reader, where, res)
            return True
        return False
    if kind == "Condition":
        _metastasis(reader, where, res)
        return True
    if kind in ("MedicationRequest", "MedicationAdministration"):
        _medication(reader, where, res)
        return True
    if kind == "Procedure" and c.PROFILE["radiotherapy"] in profiles:
        reader.skip(
            where,
            res,
            "radiotherapy course summary of another sender: not read (only renalpath's own "
            "exports carry the registry's course row)",
        )
        return True
    return False


def _patient(reader: Any, res: Resource) -> str:
    subject = (res.get("subject") or res.get("patient") or {}).get("reference", "")
    return str(reader.patient_of_ref.get(subject, ""))


def _performance(reader: Any, where: Any, res: Resource, column: str) -> None:
    value, date = res.get("valueInteger"), _date(res.get("effectiveDateTime"))
    pid = _patient(reader, res)
    if not isinstance(value, int) or isinstance(value, bool) or not date or not pid:
        reader.error(
            where, res, f"{column} performance status needs valueInteger and effectiveDateTime"
        )
        return
    row = reader.performance.setdefault((pid, date), _row("performance", patient_id=pid, date=date))
    if row[column] and row[column] != str(value):
        reader.error(
            where, res, f"{column} {value} conflicts with {row[column]} already read for {date}"
        )
        return
    row[column] = str(value)
    reader.touched = True


def _tumour_of(reader: Any, refs: list[str]) -> tuple[str, bool]:
    """(tumour id, ok): ok is False when a reference names a condition not imported."""
    for ref in refs:
        if ref in reader.tumour_of_ref:
            return str(reader.tumour_of_ref[ref]), True
    return "", not refs


def _disease_status(reader: Any, where: Any, res: Resource) -> None:
    date, pid = _date(res.get("effectiveDateTime")), _patient(reader, res)
    focus = [f.get("reference", "") for f in res.get("focus") or []]
    tumour, ok = _tumour_of(reader, focus)
    if not ok:
        reader.skip(where, res, f"disease status of a condition not imported (focus {focus})")
        return
    trends = c.snomed_key("status_")
    status = next(
        (
            trends[str(cd.get("code"))]
            for cd in _codings(res.get("valueCodeableConcept"))
            if cd.get("system") == c.SNOMED and str(cd.get("code")) in trends
        ),
        None,
    )
    if status is None or not date or not pid:
        reader.error(
            where,
            res,
            "disease status needs effectiveDateTime and a value of mCODE's "
            "condition-status-trend value set (improved, stable, worsened, "
            "undetermined)",
        )
        return
    evidence_of = c.snomed_key("evidence_")
    evidence = ""
    for ext in res.get("extension") or []:
        if ext.get("url") == c.EXT_EVIDENCE_TYPE:
            for cd in _codings(ext.get("valueCodeableConcept")):
                evidence = evidence or evidence_of.get(str(cd.get("code")), "")
    reader.add(
        "disease_status",
        _row(
            "disease_status",
            patient_id=pid,
            tumour_id=tumour,
            date=date,
            status=status,
            evidence=evidence,
        ),
    )


def is_secondary(res: Resource) -> bool:
    if c.PROFILE["secondary"] in set((res.get("meta") or {}).get("profile") or []):
        return True
    code = c.snomed()["metastatic_neoplasm"][0]
    return any(
        cd.get("system") == c.SNOMED and cd.get("code") == code for cd in _codings(res.get("code"))
    )


def _metastasis(reader: Any, where: Any, res: Resource) -> None:
    if not is_secondary(res):
        reader.skip(
            where,
            res,
            "Condition of a kidney cancer patient that is neither the kidney "
            "tumour nor a metastasis: outside the registry's model",
        )
        return
    pid = _patient(reader, res)
    date = _date(res.get("onsetDateTime") or res.get("recordedDate"))
    sites = c.body_site_by_snomed()
    site = next(
        (
            sites[str(cd.get("code"))]
            for bs in res.get("bodySite") or []
            for cd in _codings(bs)
            if cd.get("system") == c.SNOMED and str(cd.get("code")) in sites
        ),
        None,
    )
    if site is None:
        reader.skip(
            where,
            res,
            "metastasis without a body site the registry codes "
            f"(registry/codes/body_sites.csv: {', '.join(sites.values())})",
        )
        return
    if not date or not pid:
        reader.error(where, res, "metastasis needs onsetDateTime or recordedDate")
        return
    related = [
        (e.get("valueReference") or {}).get("reference", "")
        for e in res.get("extension") or []
        if e.get("url") == c.EXT_CONDITION_RELATED
    ]
    tumour, _ = _tumour_of(reader, related)
    reader.add(
        "metastases", _row("metastases", patient_id=pid, tumour_id=tumour, date=date, site=site)
    )


def _medication(reader: Any, where: Any, res: Resource) -> None:
    concept = res.get("medicationCodeableConcept")
    known = c.agent_by_code()
    agent = next(
        (
            known[(str(cd.get("system")), str(cd.get("code")))]
            for cd in _codings(concept)
            if (str(cd.get("system")), str(cd.get("code"))) in known
        ),
        None,
    )
    if agent is None:
        shown = (
            ", ".join(f"{cd.get('system', '?')}|{cd.get('code', '?')}" for cd in _codings(concept))
            or "no code"
        )
        reader.skip(
            where,
            res,
            f"medication {shown} is not an agent of registry/codes/agents.csv (RxNorm or ATC)",
        )
        return
    if res["resourceType"] == "MedicationAdministration":
        period = res.get("effectivePeriod") or {}
        if not period:
            reader.skip(
                where,
                res,
                "a single administration, not a course (the registry "
                "holds systemic-therapy courses)",
            )
            return
    else:
        bounds = [
            ((d.get("timing") or {}).get("repeat") or {}).get("boundsPeriod") or {}
            for d in res.get("dosageInstruction") or []
        ]
        period = next((b for b in bounds if b), {})
        if not period.get("start") and res.get("authoredOn"):
            period = {**period, "start": res["authoredOn"]}
    start, end, pid = _date(period.get("start")), _date(period.get("end")), _patient(reader, res)
    if not start or not pid:
        reader.error(
            where,
            res,
            "medication course needs a start (dosage bounds period, authoredOn or effectivePeriod)",
        )
        return
    reasons = c.snomed_key("stop_")
    stop = next(
        (
            reasons[str(cd.get("code"))]
            for cd in _codings(res.get("statusReason"))
            if str(cd.get("code")) in reasons
        ),
        "",
    )
    reasons_ref = [r.get("reference", "") for r in res.get("reasonReference") or []]
    tumour, _ = _tumour_of(reader, reasons_ref)
    reader.add(
        "systemic_therapy",
        _row(
            "systemic_therapy",
            patient_id=pid,
            tumour_id=tumour,
            agent=agent,
            start_date=start,
            end_date=end,
            stop_reason=stop,
        ),
    )


def finish(reader: Any) -> None:
    """Rows gathered over several resources (ECOG and Karnofsky of one day)."""
    for row in reader.performance.values():
        reader.out.rows["performance"].append(row)
