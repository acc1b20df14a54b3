"""One-page tumour-board summary of a result (the text form of `renalpath recommend`).

Why plain text: it is pasted into MDT minutes and read aloud; it must show the same content
as the JSON — derived values, options grouped by status with their reasons and rules, flags,
missing inputs, conflicts and sources — without needing a browser.
"""

from __future__ import annotations

from typing import Any

from renalpath.pathway.result import RecommendResult

_HEADINGS = {  # in this order: what to do, what not to do, what cannot be decided yet
    "recommended": "RECOMMENDED",
    "alternative": "ALTERNATIVE",
    "discuss": "DISCUSS",
    "not_recommended": "NOT RECOMMENDED",
    "blocked_missing_input": "CANNOT DECIDE YET — MISSING INPUT",
}


def _uncovered(result: RecommendResult) -> str:
    """Why no option came out, in words a tumour board can act on."""
    packs = ", ".join(p["id"] for p in result.packs) or "none"
    if result.missing_inputs:
        return (
            f"No option yet: the packs ({packs}) need these inputs to tell which rules apply: "
            + ", ".join(result.missing_inputs)
            + "."
        )
    if not result.rules_fired:
        return (
            f"No rule of the chosen packs ({packs}) covers this case: it describes no "
            "situation they address (e.g. no tumour, operation, recurrence or metastasis, "
            "or a situation only another pack covers). Decide without this summary."
        )
    return (
        f"The rules that apply ({', '.join(result.rules_fired)}) set flags or notes only; "
        "no treatment option is given for this case."
    )


def _score(value: Any, rng: Any = None) -> str:
    if not isinstance(value, dict):
        if isinstance(rng, dict):
            return _range(rng)
        return "—" if value is None else str(value)
    text = f"{value.get('score')} ({value.get('group')})"
    if value.get("group_alt"):
        text += f", or {value.get('score_alt')} ({value['group_alt']}) if KPS < 80"
    return text


def _range(rng: dict[str, Any]) -> str:
    """A score with missing inputs: the values it can still take and the groups they reach."""
    groups = [g.replace("_", " ") for g in rng["groups"]]
    span = f"{rng['low']}–{rng['high']}" if rng["low"] != rng["high"] else str(rng["low"])
    unknown = ", ".join(rng["missing"]) or "inputs not given"
    if rng["settled"]:
        return f"{span} ({groups[0]} whatever {unknown})"
    return f"{span} ({' or '.join(groups)}; depends on {unknown})"


def summary(result: RecommendResult) -> str:
    d = result.derived
    lines = ["RENALPATH — tumour-board summary (decision support; not a medical device)", ""]
    stage = f"cT {d.get('ct') or '—'} {d.get('cn') or ''} {d.get('cm') or ''}".rstrip()
    lines.append(f"Staging: {stage}; stage group {d.get('stage_group') or '—'}")
    if d.get("egfr") is not None:
        lines.append(
            f"Kidney function: eGFR {d['egfr']} mL/min/1.73 m² ({d.get('egfr_equation')}), "
            f"CKD {d.get('ckd_stage')}"
        )
    lines.append(f"Nephrometry: RENAL {d.get('renal') or '—'}; PADUA {d.get('padua') or '—'}")
    lines.append(
        f"Risk: IMDC {_score(d.get('imdc'), d.get('imdc_range'))}; "
        f"MSKCC {_score(d.get('mskcc'), d.get('mskcc_range'))}; "
        f"Mirels {_score(d.get('mirels'), d.get('mirels_range'))}; "
        f"Leibovich {_score(d.get('leibovich'))}"
    )
    lines.append("")
    if not result.options:
        lines += [_uncovered(result), ""]
    for status, heading in _HEADINGS.items():
        group = [o for o in result.options if o.status == status]
        if not group:
            continue
        lines.append(heading)
        for o in group:
            name = o.option.replace("_", " ")
            if o.modality:
                name += f" ({o.modality})"
            if o.target:
                name += f" [{o.target}]"
            lines.append(f"  - {name}: {o.why}")
            meta = f"    {o.strength}; rules {', '.join(o.rule_ids)}; [{o.verification}]"
            if o.flags:
                meta += f"; flags: {', '.join(o.flags)}"
            lines.append(meta)
            lines.extend(f"    · {c}" for c in o.counselling)
        lines.append("")
    if result.flags:
        lines += [f"Flags: {', '.join(result.flags)}", ""]
    if result.missing_inputs:
        lines += ["Missing inputs (please provide):"]
        lines += [f"  - {m}" for m in result.missing_inputs] + [""]
    if result.conflicts:
        lines.append("Conflicts between sources, and how they were resolved:")
        lines += [f"  - {c['id']}: {c['note']}" for c in result.conflicts] + [""]
    if result.notes:
        lines.append("Notes:")
        lines += [f"  - [{n['rule_id']}] {n['text']}" for n in result.notes] + [""]
    fu = result.followup
    if fu is not None:
        lines.append(
            f"Follow-up: profile {fu['profile']['id']} v{fu['profile']['version']} "
            f"[{fu['verification']}]; risk group {fu['risk_group'] or 'undetermined'}"
        )
        if fu["schedule"]:
            visits = ", ".join(f"{v['month']} mo {v['imaging']}" for v in fu["schedule"]["visits"])
            lines.append(f"  {visits}; after 5 years: {fu['schedule']['after_5_years']}")
        lines += [f"  · {n}" for n in fu["notes"]]
        lines.append("")
    sources: list[str] = []
    for o in result.options:
        for s in o.sources:
            ref = s["title"] + (f" — {s['section']}" if s.get("section") else "")
            ref += f" <{s['url']}>" if s.get("url") else ""
            if ref not in sources:
                sources.append(ref)
    if sources:
        lines.append("Sources:")
        lines += [f"  - {s}" for s in sources]
    packs = ", ".join(f"{p['id']} {p['version']}" for p in result.packs)
    lines += ["", f"Packs: {packs}"]
    return "\n".join(lines)


def explanation(result: RecommendResult) -> str:
    """Every option with each rule's own verdict, and for an option that cannot be decided
    yet, which missing input would change it to what (the `--explain` view)."""
    lines = ["How each option was decided", ""]
    for o in result.options:
        name = o.option.replace("_", " ")
        if o.modality:
            name += f" ({o.modality})"
        if o.target:
            name += f" [{o.target}]"
        lines.append(f"{name}: {o.status.replace('_', ' ')} — {o.why}")
        for c in o.contributions:
            verdict = c.status.replace("_", " ")
            if c.would_be:
                verdict += f" (would be {c.would_be.replace('_', ' ')})"
            lines.append(f"    {c.rule_id} [{c.pack}, {c.strength}]: {verdict}")
        if o.status == "blocked_missing_input":
            lines.append(f"    decisive missing input(s): {', '.join(o.missing)}")
        lines.append("")
    if result.conflicts:
        lines.append("Conflicts:")
        lines += [f"  - {c['id']}: {c['note']}" for c in result.conflicts]
    return "\n".join(lines)
