"""The content of the one-page tumour-board sheet, in clinical words.

The sheet is read at the board table and filed with the minutes: it must fit one A4 page
for an ordinary case, so each option gets one line (its reason's first sentence and its first
source) and the patient's facts are short "label: value" lines — never raw keys or booleans.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from renalpath.web import labels
from renalpath.web.case_form import STATUS_LABEL, STATUS_ORDER


@dataclass(frozen=True)
class SheetOption:
    code: str
    status: str
    label: str
    why: str
    source: str
    strength: str
    verification: str
    flags: tuple[str, ...]


def _get(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


def first_sentence(text: str, limit: int = 170) -> str:
    match = re.match(r"(.+?[.;])(\s|$)", text or "")
    out = match.group(1) if match else (text or "")
    out = out[:-1] + "." if out.endswith(";") else out
    return out if len(out) <= limit else out[: limit - 1].rstrip() + "…"


def _score(value: Any) -> str | None:
    if isinstance(value, dict):
        group = str(value.get("group", "")).replace("_", " ")
        return f"{group} ({value.get('score')} points)" if value.get("score") is not None else group
    return None if value is None else str(value)


def facts(case: dict[str, Any], result: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Sheet sections → (label, value) lines, only for what is known."""
    d = result.get("derived", {})
    out: dict[str, list[tuple[str, str]]] = {}

    staging: list[tuple[str, str]] = []
    if d.get("ct") or d.get("cm"):
        tnm = " ".join(
            x
            for x in (
                f"c{d['ct']}" if d.get("ct") else "cT?",
                d.get("cn") or "N?",
                d.get("cm") or "M?",
            )
        )
        if d.get("stage_group"):
            tnm += f" — stage {d['stage_group']}"
        staging.append(("TNM (8th ed.)", tnm))
    size = _get(case, "tumour.size_mm")
    if size is not None:
        side = _get(case, "tumour.side")
        staging.append(("Tumour", f"{size} mm" + (f", {side}" if side else "")))
    if d.get("renal"):
        staging.append(("R.E.N.A.L.", str(d["renal"])))
    if d.get("padua"):
        staging.append(("PADUA", str(d["padua"])))
    mets = case.get("metastases") or []
    if mets:
        staging.append(
            (
                "Metastases",
                "; ".join(
                    labels.choice("metastases.organ", m.get("organ") or "site not given")
                    + (f" ×{m['count']}" if m.get("count") else "")
                    for m in mets
                ),
            )
        )
    out["Staging"] = staging

    histo: list[tuple[str, str]] = []
    for path in (
        "tumour.histology",
        "tumour.biopsy",
        "pathology.histology",
        "pathology.pt",
        "pathology.pn",
        "pathology.isup_grade",
        "pathology.margin",
        "pathology.sarcomatoid",
        "pathology.necrosis",
    ):
        value = _get(case, path)
        if value is not None:
            histo.append((labels.field(path), labels.choice(path, value)))
    out["Histology"] = histo

    kidney: list[tuple[str, str]] = []
    if d.get("egfr") is not None:
        eq = f" ({labels.equation(d['egfr_equation'])})" if d.get("egfr_equation") else ""
        ckd = f", CKD {d['ckd_stage']}" if d.get("ckd_stage") else ""
        kidney.append(("eGFR", f"{d['egfr']} mL/min/1.73 m²{eq}{ckd}"))
    creat = _get(case, "kidney.creatinine")
    if isinstance(creat, dict):
        kidney.append(("Creatinine", f"{creat.get('value')} {creat.get('unit')}"))
    for path in ("kidney.solitary_kidney", "kidney.bilateral_tumours", "kidney.proteinuria"):
        value = _get(case, path)
        if value is not None:
            kidney.append((labels.field(path), labels.choice(path, value)))
    out["Kidney function"] = kidney

    risk: list[tuple[str, str]] = []
    for key in ("imdc", "mskcc", "mirels", "leibovich"):
        text = _score(d.get(key))
        if text:
            risk.append((labels.derived(key), text))
    out["Risk groups"] = risk

    general: list[tuple[str, str]] = []
    for path in (
        "patient.ecog",
        "patient.kps",
        "patient.frail",
        "patient.fit_for_surgery",
        "patient.declines_surgery",
        "prior_treatment.type",
        "prior_treatment.date",
        "prior_treatment.failure",
        "prior_treatment.failure_date",
    ):
        value = _get(case, path)
        if value is not None:
            general.append((labels.field(path), labels.choice(path, value)))
    out["Condition and earlier treatment"] = general
    return out


def options(result: dict[str, Any]) -> list[tuple[str, list[SheetOption]]]:
    out: list[tuple[str, list[SheetOption]]] = []
    for status in STATUS_ORDER:
        chosen = [o for o in result.get("options", []) if o.get("status") == status]
        if not chosen:
            continue
        rows = []
        for o in chosen:
            src = (o.get("sources") or [{}])[0]
            rows.append(
                SheetOption(
                    code=str(o["option"]),
                    status=status,
                    label=labels.option(o["option"], o.get("modality"))
                    + (f" — {o['target']}" if o.get("target") else ""),
                    why=first_sentence(o.get("why", "")),
                    source=str(src.get("title", "")),
                    strength=str(o.get("strength") or ""),
                    verification=str(o.get("verification") or ""),
                    flags=tuple(labels.flag(f) for f in o.get("flags", [])),
                )
            )
        out.append((STATUS_LABEL[status], rows))
    return out


def age_in_words(date_text: object, today: dt.date | None = None) -> str:
    """How old a fact is: "today", "12 days", "5 months", "2 years"."""
    if not date_text or not isinstance(date_text, str):
        return ""
    try:
        when = dt.date.fromisoformat(date_text)
    except ValueError:
        return ""
    days = ((today or dt.date.today()) - when).days
    if days <= 0:
        return "today"
    if days < 60:
        return f"{days} day{'s' if days != 1 else ''}"
    if days < 730:
        return f"{days // 30} months"
    return f"{days // 365} years"
