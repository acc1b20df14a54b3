"""Apply the safety gates and the site's ablation modalities to merged options.

Why after the merge and outside the packs: a contraindication (a benign cyst category, a
patient unfit for surgery, a partial nephrectomy the surgeon cannot do, a solitary kidney,
adjuvant therapy with disease present) must hold whatever packs are chosen — an older pack
evaluated alone is bound by it as much as the merged set.  The gates themselves are clinical
content with their sources (packs/_gates.yaml); this module only carries out their effects.

A gate lowers a status, never raises one, and it only acts when its condition is known to be
true.  A blocked option whose gate caps it at `not_recommended` is decided: no value of the
missing input could make it anything else.
"""

from __future__ import annotations

from collections.abc import Sequence

from renalpath.pathway.conditions import Env
from renalpath.pathway.loader import Gate, Gates
from renalpath.pathway.merge import BLOCKED
from renalpath.pathway.result import Contribution, OptionRecord
from renalpath.pathway.vocabulary import LEVEL

GATE_PACK = "gates"
_LOWEST = "not_recommended"
_MODALITIES = ("cryo", "rfa", "mwa")


def _cap(record: OptionRecord, gate: Gate, status: str) -> None:
    spec = gate.spec
    record.status = status
    record.strength = spec.strength
    record.why = spec.why
    record.pack = GATE_PACK
    record.verification = spec.verification
    record.missing = []
    record.sources = [*gate.sources, *(s for s in record.sources if s not in gate.sources)]
    record.rule_ids.append(spec.id)
    record.contributions.append(
        Contribution(
            spec.id, GATE_PACK, status, spec.strength, spec.why, spec.verification, gate.sources
        )
    )


def apply_gates(records: list[OptionRecord], gates: Gates, env: Env, flags: list[str]) -> None:
    """Cap and flag the options each holding gate lists; add its case flags."""
    present = {r.option for r in records}
    for gate in gates.gates:
        spec = gate.spec
        if spec.options and gate.options.isdisjoint(present):
            continue
        if gate.when.test(env) is not True:
            continue
        for f in spec.case_flags:
            if f not in flags:
                flags.append(f)
        cap = spec.max_status
        for record in records:
            if record.option not in gate.options:
                continue
            if cap is not None:
                if record.status == BLOCKED:
                    if cap == _LOWEST:
                        _cap(record, gate, cap)
                elif LEVEL[record.status] < LEVEL[cap]:
                    _cap(record, gate, cap)
                elif spec.id not in record.rule_ids:
                    record.rule_ids.append(spec.id)
            for f in spec.flags:
                if f not in record.flags:
                    record.flags.append(f)


def apply_site(records: list[OptionRecord], gates: Gates, offered: Sequence[str] | None) -> None:
    """Name a modality the site offers on every positive ablation; refer for one it lacks.

    For an option "any modality", the site's modalities (in the order the site lists them)
    that no rule advises against for this case are the candidates; the first is named.  With
    none, the option becomes a referral: status at most `lacking_status`, flagged, and named
    by the one suitable modality if there is exactly one.
    """
    site = gates.site
    if site is None or offered is None:
        return
    options = frozenset(site.options)
    keys = {(r.option, r.modality, r.target) for r in records}
    against = {(r.option, r.modality, r.target) for r in records if r.status == "not_recommended"}
    for record in records:
        if record.option not in options or record.status not in ("recommended", "alternative"):
            continue
        option, target = record.option, record.target
        if record.modality == "any":
            usable = [
                m
                for m in offered
                if (option, m, target) not in against and (option, m, target) not in keys
            ]
            if usable:
                record.modality = usable[0]
                keys.add((option, usable[0], target))
                continue
            suitable = [
                m
                for m in _MODALITIES
                if m not in offered
                and (option, m, target) not in against
                and (option, m, target) not in keys
            ]
            if len(suitable) == 1:
                record.modality = suitable[0]
                keys.add((option, suitable[0], target))
        elif record.modality in offered:
            continue
        if LEVEL[record.status] < LEVEL[site.lacking_status]:
            record.status = site.lacking_status
        record.why = f"{site.why} ({record.why})"
        if site.flag not in record.flags:
            record.flags.append(site.flag)


def apply_any_modality_blocks(records: list[OptionRecord]) -> None:
    """A rule that cannot decide an ablation of any modality cannot decide one of a named
    modality either: block the named ones on the same inputs.

    Why: packs name modalities differently — one rule blocks "thermal ablation, any
    modality" until histology is known (biopsy before ablation), while an older pack offers
    radiofrequency ablation by name.  Merged option by option, the named offer would escape
    the block; the requirement binds every modality of that option and target.
    """
    blocked = {
        (r.option, r.target): r for r in records if r.modality == "any" and r.status == BLOCKED
    }
    if not blocked:
        return
    for record in records:
        if record.modality in (None, "any") or record.status not in LEVEL:
            continue
        if record.status == _LOWEST:
            continue  # advised against already: no value of the input could offer it
        source = blocked.get((record.option, record.target))
        if source is None:
            continue
        record.status = BLOCKED
        record.missing = list(dict.fromkeys([*record.missing, *source.missing]))
        record.why = f"{source.why} ({record.why})"
        for rule_id in source.rule_ids:
            if rule_id not in record.rule_ids:
                record.rule_ids.append(rule_id)
        # The blocking verdicts travel with it, so a block on purpose (an input required
        # before the option) is not later decided by trying values (settle.py).
        for c in source.contributions:
            if c.status == BLOCKED and c not in record.contributions:
                record.contributions.append(c)
