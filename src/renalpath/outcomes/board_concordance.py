"""Concordance of tumour-board decisions with the pathway.

For every decided board case, the option the board chose is looked up among the options the
pathway gives for the saved case, and the decision is counted by that option's status.  The
case is evaluated as the case page evaluates it (its own decision date `as_of` when the form
gave one, else today), so this page and the case page always agree on a case.  Where one
option code appears more than once (several modalities), the best status counts, as in the
first-treatment audit (`outcomes.concordance`).

Categories: the pathway statuses (`recommended`, `alternative`, `discuss`,
`not_recommended`, `blocked_missing_input`), `not_listed` (the option chosen is not among the
pathway's options for the case), `no_option` (the board recorded a decision that names none of
the listed options, e.g. a further investigation) and `case_refused` (the saved case no longer
passes the case validator, e.g. after a change of the case model).  Concordant = the chosen
option was `recommended` or `alternative`, as a share of decisions that chose an option.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from renalpath.pathway import CaseValidationError, recommend_many
from renalpath.registry.board_cases import SavedCase

STATUSES = ("recommended", "alternative", "discuss", "not_recommended", "blocked_missing_input")
CATEGORIES = (*STATUSES, "not_listed", "no_option", "case_refused")
CONCORDANT = ("recommended", "alternative")


@dataclass(frozen=True)
class BoardDecision:
    case_id: int
    patient_id: str
    decision_date: dt.date | None
    option: str | None
    category: str


@dataclass(frozen=True)
class BoardConcordance:
    decisions: tuple[BoardDecision, ...]

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(d.category for d in self.decisions)
        return {c: found.get(c, 0) for c in CATEGORIES}

    @property
    def with_option(self) -> int:
        """Decisions that chose an option and whose case the pathway could evaluate."""
        return sum(1 for d in self.decisions if d.category not in ("no_option", "case_refused"))

    @property
    def concordant_pct(self) -> float | None:
        if not self.with_option:
            return None
        hits = sum(1 for d in self.decisions if d.category in CONCORDANT)
        return round(100.0 * hits / self.with_option, 1)


def board_concordance(cases: Sequence[SavedCase], today: dt.date | None = None) -> BoardConcordance:
    """Classify each decided case's chosen option by its status in the pathway's result."""
    decided = [c for c in cases if c.status == "decided"]
    results = recommend_many([c.case for c in decided], today=today)
    categories: dict[int, str] = {}
    for case, res in zip(decided, results, strict=True):
        if isinstance(res, CaseValidationError):
            categories[case.id] = "case_refused"
        elif not case.decision_option:
            categories[case.id] = "no_option"
        else:
            statuses = {o.status for o in res.options if o.option == case.decision_option}
            best = next((s for s in STATUSES if s in statuses), None)
            categories[case.id] = best or "not_listed"
    return BoardConcordance(
        tuple(
            BoardDecision(c.id, c.patient_id, c.decision_date, c.decision_option, categories[c.id])
            for c in decided
        )
    )
