"""The range a point score can still take when some of its inputs are unknown.

A tumour board often knows most of a score before the last laboratory value arrives: with
KPS < 80, less than a year to systemic therapy, low haemoglobin and high calcium the IMDC
count is already 4 whatever the neutrophils and platelets are, so the patient is poor risk
(Heng 2009: poor = 3–6 factors).  Rather than show such a score as unknown, the range is
computed by running the published model itself over every value the missing inputs can take
(no threshold is restated here), and the groups reached are named.  When every completion
lands in one group, the group is settled.

Only closed inputs are completed (booleans, the model's own choice lists, and two
representative values on either side of a threshold the model applies, e.g. KPS 90/70 for
"KPS < 80"); the enumeration is small (at most 2⁶ runs) and memoised by the callers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.scores import ScoreResult


@dataclass(frozen=True, slots=True)
class ScoreRange:
    """Lowest and highest score over the completions, and the groups they fall in (in the
    order given by `group_order`)."""

    low: int
    high: int
    groups: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def settled(self) -> bool:
        """True when every completion falls in one group."""
        return len(self.groups) == 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "low": self.low,
            "high": self.high,
            "groups": list(self.groups),
            "settled": self.settled,
            "missing": list(self.missing),
        }


def score_range(
    model: Callable[..., ScoreResult],
    known: Mapping[str, Any],
    completions: Mapping[str, Sequence[Any]],
    group_order: Sequence[str],
    missing: Sequence[str] = (),
) -> ScoreRange | None:
    """Run `model(**known, **one completion)` for every completion of the unknown inputs.

    `completions` maps each unknown keyword to the values it may take.  Both readings of a
    result are counted (`score_alt`: ECOG 1 without KPS).  None when the model refuses a
    completion for another reason (an invalid known input: the score has no range then) or
    when nothing is unknown.
    """
    if not completions:
        return None
    names = list(completions)
    scores: list[int] = []
    groups: set[str] = set()
    for values in itertools.product(*(completions[n] for n in names)):
        try:
            res = model(**known, **dict(zip(names, values, strict=True)))
        except ClinicalInputError:
            return None
        for score, group in ((res.score, res.group), (res.score_alt, res.group_alt)):
            if score is not None and group is not None:
                scores.append(score)
                groups.add(group)
    if not scores:
        return None
    ordered = tuple(g for g in group_order if g in groups)
    return ScoreRange(min(scores), max(scores), ordered, tuple(missing))
