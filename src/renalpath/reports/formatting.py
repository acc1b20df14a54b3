"""Number formatting for reports, following common journal style (e.g. NEJM/AMA manuals).

p-values: "< 0.001" below 0.001, three decimals below 0.01, otherwise two ("0.03", "0.50");
means and SDs to one decimal; missing or not-estimable values print as an em dash, which the
report always explains in a note next to the table.
"""

from __future__ import annotations

import math

DASH = "—"


def _finite(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def num(value: object, digits: int = 1) -> str:
    """A number to `digits` decimals with a true minus sign; missing → em dash."""
    x = _finite(value)
    if x is None:
        return DASH
    text = f"{x:.{digits}f}"
    if text.startswith("-"):
        # "-0.0" is not a change; otherwise use the typographic minus.
        text = text[1:] if float(text) == 0 else "−" + text[1:]
    return text


def p_value(value: object) -> str:
    """Journal-style p: '< 0.001', '0.004', '0.03', '0.50'; missing → em dash."""
    x = _finite(value)
    if x is None:
        return DASH
    if x < 0.001:
        return "< 0.001"
    if x < 0.01:
        return f"{x:.3f}"
    # Two decimals, but never round 0.0496 up to a misleading "0.05".
    text = f"{x:.2f}"
    return f"{x:.3f}" if text == "0.05" and x < 0.05 else text


def p_phrase(value: object) -> str:
    """'p = 0.03' or 'p < 0.001' for running text; 'p = —' when missing."""
    text = p_value(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def pct(value: object, digits: int = 0) -> str:
    """A percentage with its sign: '85%'; missing → em dash."""
    x = _finite(value)
    return DASH if x is None else f"{num(x, digits)}%"


def n_pct(n: object, total: object, digits: int = 0) -> str:
    """'11 (85%)'; the percentage is a dash when the denominator is zero or missing."""
    k = _finite(n)
    whole = _finite(total)
    if k is None:
        return DASH
    if not whole:
        return f"{int(k)} ({DASH})"
    return f"{int(k)} ({pct(100.0 * k / whole, digits)})"


def mean_sd(mean: object, sd: object, digits: int = 1) -> str:
    """'64.0 ± 8.2'; the SD alone is a dash when it is undefined (n < 2)."""
    if _finite(mean) is None:
        return DASH
    return f"{num(mean, digits)} ± {num(sd, digits)}"


def value_range(low: object, high: object, digits: int = 1) -> str:
    """'42.6–87.5'; a dash when either end is missing."""
    if _finite(low) is None or _finite(high) is None:
        return DASH
    return f"{num(low, digits)}–{num(high, digits)}"


NO_EVENT_CI = "no event yet, no CI"


def estimate_ci(est: object, low: object, high: object, digits: int = 0) -> str:
    """A proportion (0–1) as a percentage with its CI: '78% (61–100)'.

    A Kaplan–Meier estimate of 1 means no event has occurred yet; its Greenwood variance is 0,
    so the "interval" 100–100 says nothing about precision and is not reported.
    """
    if _finite(est) is None:
        return DASH
    e = 100.0 * float(est)  # type: ignore[arg-type]
    if e >= 100.0:
        return f"{num(100.0, digits)}% ({NO_EVENT_CI})"
    lo, hi = _finite(low), _finite(high)
    ci = (
        f"{num(100 * lo, digits)}–{num(100 * hi, digits)}"
        if lo is not None and hi is not None
        else DASH
    )
    return f"{num(e, digits)}% ({ci})"


def label(key: str) -> str:
    """A registry code as words: 'partial_nephrectomy' → 'partial nephrectomy'."""
    return key.replace("_", " ")
