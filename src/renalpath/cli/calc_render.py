"""How `renalpath calc NAME` prints a result as text (the JSON is the catalogue's payload).

Presentation only: inputs, computation and sources come from the calculator catalogue
(`renalpath.calculators`), so the command line and the web cannot disagree on them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Payload = dict[str, Any]

_EQUATION_LABELS = {
    "ckd-epi-2021": "CKD-EPI 2021",
    "ckd-epi-2009": "CKD-EPI 2009",
    "mdrd": "MDRD IDMS-175",
}


def _flags(p: Payload) -> list[str]:
    flags = p.get("flags") or ()
    return [f"flags: {', '.join(flags)}"] if flags else []


def _egfr(p: Payload) -> str:
    lines = [
        f"eGFR ({_EQUATION_LABELS[p['equation']]}): {p['egfr']:.2f} mL/min/1.73 m² "
        f"(reported {p['egfr_rounded']})",
        f"KDIGO {p['band']}",
        f"creatinine {p['creatinine_mg_dl']:.4g} mg/dL = {p['creatinine_umol_l']:.4g} µmol/L; "
        f"age {p['age']:g}; sex {p['sex']}" + ("; Black coefficient" if p["black"] else ""),
    ]
    return "\n".join(lines + _flags(p))


def _renal(p: Payload) -> str:
    c = p["components"]
    return (
        f"R.E.N.A.L. {p['label']} — {p['complexity']} complexity (total {p['total']})\n"
        f"R {c['R']} + E {c['E']} + N {c['N']} + L {c['L']}; A {c['A']}; "
        f"hilar {'yes' if c['h'] else 'no'}"
    )


def _padua(p: Payload) -> str:
    c = p["components"]
    parts = " + ".join(f"{k} {c[k]}" for k in ("polar", "exophytic", "rim", "sinus", "ucs", "size"))
    return f"PADUA {p['label']} — {p['risk']} risk (total {p['total']})\n{parts}" + "".join(
        "\n" + line for line in _flags(p)
    )


def _score(title: str) -> Callable[[Payload], str]:
    def render(payload: Payload) -> str:
        if payload["score"] is None:
            lines = [f"{title}: {payload['group']} — {payload['band']}"]
        else:
            lines = [f"{title}: {payload['score']} ({payload['group']}) — {payload['band']}"]
        if payload.get("score_alt") is not None:
            lines.append(f"  if KPS < 80: {payload['score_alt']} ({payload['group_alt']})")
        if payload.get("components"):
            pts = ", ".join(f"{k} {v}" for k, v in payload["components"].items())
            lines.append(f"  points: {pts}")
        if payload.get("flags"):
            lines.append("  flags: " + ", ".join(payload["flags"]))
        lines += [f"  note: {n}" for n in payload.get("notes", ())]
        if "calcium" in payload:
            ca = payload["calcium"]
            lines.append(f"  corrected calcium: {ca['corrected']:.2f} {ca['unit']}")
        for src in payload["sources"]:
            tag = f" [{src['verification']}]" if src["verification"] else ""
            lines.append(f"  source: {src['title']}{tag}")
        return "\n".join(lines)

    return render


def _calcium(p: Payload) -> str:
    lines = [
        f"Corrected calcium: {p['corrected']:.2f} {p['unit']} "
        f"({p['corrected_mg_dl']:.2f} mg/dL = {p['corrected_mmol_l']:.3f} mmol/L)",
        f"  MSKCC (> 10 mg/dL): {'yes' if p['above_10_mg_dl'] else 'no'}",
    ]
    if p["above_uln"] is not None:
        lines.append(f"  IMDC (> ULN {p['uln']:g}): {'yes' if p['above_uln'] else 'no'}")
    lines.append("  flags: " + ", ".join(p["flags"]))
    return "\n".join(lines)


def _clavien(p: Payload) -> str:
    from renalpath.clinical.clavien_dindo import REQUIRED

    lines = [f"Clavien-Dindo: {p['label']} — {p['band']}"]
    if p["required"]:
        lines.append(f"  required: {p['required']} ({REQUIRED[p['required']][1]})")
    src = p["sources"][0]
    lines.append(f"  source: {src['title']} [{src['verification']}]")
    return "\n".join(lines)


RENDER: dict[str, Callable[[Payload], str]] = {
    "egfr": _egfr,
    "renal": _renal,
    "padua": _padua,
    "tnm": lambda p: f"{p['t']} {p['n']} {p['m']} — stage {p['stage_group']}",
    "growth": lambda p: f"growth {p['mm_per_year']:.2f} mm/year — {p['band']}",
    "leibovich": _score("Leibovich 2003"),
    "ssign": _score("SSIGN"),
    "imdc": _score("IMDC"),
    "mskcc": _score("MSKCC 2002"),
    "calcium": _calcium,
    "clavien": _clavien,
    "mirels": _score("Mirels"),
}
