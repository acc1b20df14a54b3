"""The normalising reader: hospital spellings → the dictionary's canonical cells.

Runs on the all-string frame of one file before it is parsed (`validate.parse_frames`), once
per *distinct* text of a column (a registry has far fewer distinct spellings than rows), and
only for the texts that are not already canonical — a clean folder costs one vectorised check
per column. What it does is declared in `registry.spellings`; every rewrite becomes one warning
(file, column, written → stored, number of rows, first lines) and every refusal one error per
row with the fix in its reason. Refused cells are blanked and marked, so the parser reports
nothing more about them (no knock-on "required value missing").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

from renalpath.clinical.clavien_dindo import parse_grade
from renalpath.clinical.common import ClinicalInputError
from renalpath.registry import spellings as sp
from renalpath.registry.dictionary import TNM_PREFIXES, ColumnSpec, FileSpec

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
_INT = re.compile(r"[+-]?\d+")
_INTEGRAL_FLOAT = re.compile(r"(?P<i>[+-]?\d+)\.0+")
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+")
_COMPARATOR_STARTS = ("<", ">", "=", "≤", "≥")
_CLAVIEN_ARABIC = re.compile(r"(?P<n>[1-5])\s*(?P<rest>[ab]?\s*(?:-?\s*d)?)")


@dataclass(frozen=True)
class ReadOptions:
    """How a folder is read (command-line / upload options)."""

    date_format: str | None = None  # a key of spellings.DATE_FORMATS
    missing: tuple[str, ...] = sp.MISSING_VALUES
    ignore_columns: tuple[str, ...] = ()
    encoding: str | None = None  # None: UTF-8 (with or without BOM)


@dataclass
class Refusal:
    """A cell that must not be guessed: the reason says how to fix it."""

    reason: str


@dataclass
class FileContext:
    """Per-file facts the rules need (a `;`-separated file may use decimal commas)."""

    options: ReadOptions
    decimal_comma: bool = False
    separator: str = ","
    missing: frozenset[str] = field(default_factory=frozenset)


Outcome = str | Refusal | None  # canonical text, refusal, or "leave it to the parser"
Rule = Callable[[ColumnSpec, str, FileContext], Outcome]


# --- per-type rules ------------------------------------------------------------------------


def _enum(col: ColumnSpec, text: str, ctx: FileContext) -> Outcome:
    assert col.enum is not None
    if col.name in sp.TNM_COLUMNS:
        return _tnm(col, text)
    if col.name == "clavien_dindo":
        return _clavien(text)
    key = sp.spelling_key(text)
    for value in col.enum:
        if sp.spelling_key(value) == key:
            return value
    synonym = sp.ENUM_SYNONYMS.get(col.name, {}).get(key)
    if synonym is not None and synonym in col.enum:
        return synonym
    ambiguous = sp.AMBIGUOUS_CODES.get(col.name, {}).get(key)
    if ambiguous is not None:
        return Refusal(ambiguous)
    return None


def _tnm(col: ColumnSpec, text: str) -> Outcome:
    """The canonical category of a TNM cell whose prefix carries no meaning (pT1a → T1a).

    A cell with a meaningful prefix (ypT2) is split by `_split_tnm_prefixes` before the
    column rules run; one that reaches this rule with it is refused, never stored without."""
    outcome, meaning = tnm_parts(col, text)
    if meaning and isinstance(outcome, str):
        return Refusal(
            f"the prefix {meaning!r} of {text.strip()!r} belongs in the tnm_prefix column"
        )
    return outcome


def tnm_parts(col: ColumnSpec, text: str) -> tuple[Outcome, str]:
    """(canonical category or refusal or None, the prefix letters that carry meaning).

    "ypT2" in pt → ("T2", "y"); "pT1a" → ("T1a", ""); "ycT2" in pt → a refusal (a clinical
    prefix in a pathological column). The meaning is "" unless the category is accepted."""
    assert col.enum is not None
    letter, own_prefix = sp.TNM_COLUMNS[col.name]
    match = sp.TNM_PATTERN.fullmatch(text.strip().lower())
    if match is None:
        return None, ""
    if match["letter"] is not None and match["letter"].upper() != letter:
        return Refusal(f"a {match['letter'].upper()} category in the {letter} column"), ""
    prefix = match["prefix"]
    cat = match["cat"]
    stored = letter + (cat[0].upper() if cat[0] == "x" else cat[0]) + cat[1:]
    if stored in sp.TNM_OLD_EDITION:
        return Refusal(sp.TNM_OLD_EDITION[stored]), ""
    if stored not in col.enum:
        return None, ""
    if not own_prefix:  # a staging record: its classification column carries the prefix
        if prefix:
            return Refusal(
                f"write the category without its prefix ({stored!r}); the prefix {prefix!r} "
                "belongs in the classification column"
            ), ""
        return stored, ""
    meaning = sp.tnm_meaning(prefix)
    if meaning is None:
        return Refusal(
            f"the prefix {prefix!r} is not a TNM prefix: y (during or after initial "
            "multimodality therapy), r (recurrence), a (autopsy) or y and r together, each "
            f"with or without {own_prefix!r}"
        ), ""
    kind = "".join(ch for ch in prefix if ch not in sp.TNM_MEANINGFUL)
    if kind and kind != own_prefix:
        word = "clinical" if own_prefix == "c" else "pathological"
        return Refusal(f"a {prefix}-prefixed category in the {word} column {col.name}"), ""
    return stored, meaning


def _clavien(text: str) -> Outcome:
    candidate = text.strip()
    arabic = _CLAVIEN_ARABIC.fullmatch(candidate.lower())
    if arabic is not None:
        candidate = sp.CLAVIEN_ARABIC[arabic["n"]] + arabic["rest"]
    try:
        return str(parse_grade(candidate))
    except ClinicalInputError as err:
        return Refusal("; ".join(p.message() for p in err.problems))


def _bool(col: ColumnSpec, text: str, ctx: FileContext) -> Outcome:
    return sp.BOOLEANS.get(sp.spelling_key(text))


def _date(col: ColumnSpec, text: str, ctx: FileContext) -> Outcome:
    t = text.strip()
    m = sp.ISO_DATETIME.fullmatch(t)
    if m is not None:
        return m["date"]
    fmt = ctx.options.date_format
    if fmt is not None:
        try:
            pattern = sp.DATE_FORMATS[fmt]
            return dt.datetime.strptime(t.split(" ")[0].split("T")[0], pattern).date().isoformat()
        except ValueError:
            pass  # not in the given format: the other rules (and the parser) decide
    m = sp.SLASH_ISO.fullmatch(t)
    if m is not None:
        return _ymd(int(m["y"]), int(m["m"]), int(m["d"]))
    m = sp.SAS_DATE9.fullmatch(t.lower())
    if m is not None and m["mon"] in sp.MONTHS:
        return _ymd(int(m["y"]), sp.MONTHS.index(m["mon"]) + 1, int(m["d"]))
    if sp.DAY_MONTH.fullmatch(t):
        return Refusal(
            "day and month order is ambiguous; give the file's format with --date-format "
            f"({' | '.join(sp.DATE_FORMATS)}) or write dates as YYYY-MM-DD"
        )
    if re.fullmatch(r"\d+(?:\.\d+)?", t):
        number = float(t)
        lo, hi = sp.EXCEL_SERIAL_RANGE
        if lo <= number <= hi:
            return Refusal(
                "a number, not a date: probably an Excel serial date (days since 1899-12-30); "
                "format the column as a date in Excel, or write dates as YYYY-MM-DD"
            )
        lo, hi = sp.SAS_DAYS_RANGE
        if lo <= number <= hi:
            return Refusal(
                "a number, not a date: probably a SAS date value (days since 1960-01-01); "
                "export it with a date format (e.g. YYMMDD10.) or write dates as YYYY-MM-DD"
            )
    return None


def _ymd(y: int, m: int, d: int) -> Outcome:
    try:
        return dt.date(y, m, d).isoformat()
    except ValueError:
        return None


def _number(col: ColumnSpec, text: str, ctx: FileContext) -> Outcome:
    t = text.strip()
    if ctx.decimal_comma and _DECIMAL_COMMA.fullmatch(t):
        t = t.replace(",", ".")
    if col.name == "isup_grade":
        return _isup(t)
    if col.type == "int":
        m = _INTEGRAL_FLOAT.fullmatch(t)
        if m is not None:
            return m["i"]
    if t != text.strip():
        return t
    return None


def _isup(text: str) -> Outcome:
    low = text.lower()
    if sp.FUHRMAN_PATTERN.search(low):
        return Refusal(
            "a Fuhrman grade is not a WHO/ISUP grade (different criteria); give the WHO/ISUP "
            "grade from the pathology report or leave the cell blank"
        )
    m = sp.ISUP_PATTERN.fullmatch(low.strip())
    if m is None:
        return None
    g = m["g"]
    return sp.ISUP_ROMAN.get(g, g)


_RULES: dict[str, Rule] = {
    "enum": _enum,
    "bool": _bool,
    "date": _date,
    "int": _number,
    "float": _number,
}


def _canonical(col: ColumnSpec, uniq: pd.Series) -> np.ndarray:
    """Which distinct texts are already canonical (or blank): those skip every rule."""
    blank = (uniq == "").to_numpy()
    if col.type == "enum":
        assert col.enum is not None
        if col.name == "clavien_dindo":
            ok = uniq.map(_is_canonical_clavien).to_numpy(bool)
        else:
            ok = uniq.isin(col.enum).to_numpy()
    elif col.type == "bool":
        ok = uniq.isin(("true", "false")).to_numpy()
    elif col.type == "date":
        ok = uniq.str.fullmatch(_ISO.pattern).fillna(False).to_numpy(bool)
    elif col.type == "int":
        ok = uniq.str.fullmatch(_INT.pattern).fillna(False).to_numpy(bool)
    elif col.type == "float":
        number = pd.to_numeric(uniq.where(~blank), errors="coerce")
        ok = number.notna().to_numpy()
    else:
        ok = np.ones(len(uniq), dtype=bool)
    result: np.ndarray = ok | blank
    return result


def _is_canonical_clavien(text: str) -> bool:
    try:
        return str(parse_grade(text)) == text
    except ClinicalInputError:
        return False


# --- one file ------------------------------------------------------------------------------


Warn = Callable[[str, str, str, np.ndarray], None]  # column, raw, stored, row mask
Refuse = Callable[[str, np.ndarray, str], None]  # column, row mask, reason


Distinct = dict[str, tuple[np.ndarray, pd.Series]]  # column → (codes, distinct texts)


def normalise_frame(
    spec: FileSpec,
    frame: pd.DataFrame,
    ctx: FileContext,
    warn: Warn,
    refuse: Refuse,
    distinct: Distinct | None = None,
) -> dict[str, np.ndarray]:
    """Rewrite non-canonical cells of `frame` in place; return, per column, the rows whose
    cell was refused (already reported, then blanked). The factorisation of each column left
    as it was is put in `distinct`, for the parser to reuse."""
    refused: dict[str, np.ndarray] = {}
    if spec.name == "labs":
        _split_comparators(frame, ctx, warn, refuse, refused)
    prefixes = _split_tnm_prefixes(spec, frame, warn)
    for col in spec.columns:
        rule = _RULES.get(col.type)
        if rule is None:
            continue
        raw = frame[col.name]
        codes, uniq_arr = pd.factorize(raw.to_numpy(object))
        uniq = pd.Series(uniq_arr, dtype=object)
        ok = _canonical(col, uniq)
        if ok.all():
            if distinct is not None:
                distinct[col.name] = (np.asarray(codes), uniq)
            continue
        table = uniq.to_numpy(object).copy()
        bad_rows = np.zeros(len(raw), dtype=bool)
        for i in np.flatnonzero(~ok).tolist():
            text = str(uniq.iat[i])
            outcome = rule(col, text, ctx)
            if outcome is None and sp.spelling_key(text) in ctx.missing:
                if col.required:
                    outcome = Refusal(f"required value missing (written {text!r})")
                else:
                    outcome = ""
            if outcome is None:
                continue  # the parser reports it with the column's allowed values
            rows = codes == i
            if isinstance(outcome, Refusal):
                refuse(col.name, rows, outcome.reason)
                bad_rows |= rows
                table[i] = ""
            else:
                warn(col.name, text, outcome, rows)
                table[i] = outcome
        frame[col.name] = table[codes] if len(table) else raw
        if bad_rows.any():
            refused[col.name] = bad_rows | refused.get(col.name, False)
    if spec.name == "labs" and _lab_units(frame, warn, refuse, refused) and distinct:
        for name in ("value", "lln", "uln", "unit"):
            distinct.pop(name, None)  # rewritten after they were factorised
    if prefixes:
        _merge_tnm_prefixes(frame, prefixes, refuse, refused)
        if distinct is not None:
            distinct.pop("tnm_prefix", None)  # rewritten after it was factorised
    return refused


# The written cells a meaningful prefix came from: column → (prefix per row, text per row).
Prefixes = dict[str, tuple[np.ndarray, np.ndarray]]


def _split_tnm_prefixes(spec: FileSpec, frame: pd.DataFrame, warn: Warn) -> Prefixes:
    """ypT2 → T2, with the y kept per row for the file's `tnm_prefix` column (one warning
    per distinct spelling, as for every rewrite). Cells the TNM rule would refuse are left
    as written, for the column rule to refuse with its reason."""
    found: Prefixes = {}
    if "tnm_prefix" not in spec.column_names:
        return found
    for col in spec.columns:
        if col.name not in sp.TNM_COLUMNS:
            continue
        assert col.enum is not None
        raw = frame[col.name].to_numpy(object)
        codes, uniq = pd.factorize(raw)
        table = np.asarray(uniq, dtype=object).copy()
        meaning_of = np.full(len(table), "", dtype=object)
        for i, text in enumerate(table.tolist()):
            if text == "" or text in col.enum:
                continue
            outcome, meaning = tnm_parts(col, str(text))
            if not meaning or not isinstance(outcome, str):
                continue
            warn(col.name, text, f"{outcome} (tnm_prefix {meaning})", codes == i)
            table[i] = outcome
            meaning_of[i] = meaning
        if (meaning_of != "").any():
            found[col.name] = (meaning_of[codes], raw)
            frame[col.name] = table[codes]
    return found


def _merge_tnm_prefixes(
    frame: pd.DataFrame, found: Prefixes, refuse: Refuse, refused: dict[str, np.ndarray]
) -> None:
    """One prefix per row: the one its categories carry (a category without one takes the
    row's), agreeing with a `tnm_prefix` cell written beside them. A row whose categories
    carry different prefixes (ypT2 with rpN1) is refused: one classification, one prefix."""
    given = frame["tnm_prefix"].to_numpy(object)
    result = given.copy()
    known = np.isin(given, ("", *TNM_PREFIXES))  # other cells: the parser reports them
    clash = np.zeros(len(given), dtype=bool)
    for meaning, _ in found.values():
        carries = (meaning != "") & known
        clash |= carries & (result != "") & (result != meaning)
        result = np.where(carries & (result == ""), meaning, result)
    if not clash.any():
        frame["tnm_prefix"] = result
        return
    reasons: dict[str, np.ndarray] = {}
    for row in np.flatnonzero(clash).tolist():
        written = [f"tnm_prefix {given[row]!r}"] if given[row] != "" else []
        written += [f"{c} {raw[row]!r}" for c, (m, raw) in found.items() if m[row] != ""]
        reason = (
            f"different TNM prefixes in one row ({', '.join(written)}): the T, N and M of "
            "one classification share its prefix (y, r, a or yr); correct the prefix, or "
            "record the other classification as a staging record"
        )
        reasons.setdefault(reason, np.zeros(len(given), dtype=bool))[row] = True
    for reason, rows in reasons.items():
        refuse("tnm_prefix", rows, reason)
    frame["tnm_prefix"] = np.where(clash, "", result)
    refused["tnm_prefix"] = clash | refused.get("tnm_prefix", False)


def _split_comparators(
    frame: pd.DataFrame,
    ctx: FileContext,
    warn: Warn,
    refuse: Refuse,
    refused: dict[str, np.ndarray],
) -> None:
    """Censored results ("<0.5", ">=90") → value + comparator (eGFR ">90" stays a number)."""
    value = frame["value"]
    codes, uniq = pd.factorize(value.to_numpy(object))
    marked = [i for i, t in enumerate(uniq.tolist()) if t.lstrip()[:1] in _COMPARATOR_STARTS]
    if not marked:
        return
    comparator = frame["comparator"].to_numpy(object).copy()
    values = value.to_numpy(object).copy()
    for i in marked:
        text = str(uniq[i])
        rows = codes == i
        m = sp.CENSORED_PATTERN.fullmatch(text.strip())
        if m is None:
            continue  # the parser reports "not a number"
        op = sp.COMPARATORS[m["op"]]
        number = m["num"].replace(",", ".") if ctx.decimal_comma else m["num"]
        given = comparator[rows]
        clash = (given != "") & (given != op)
        if clash.any():
            bad = rows.copy()
            bad[rows] = clash
            refuse("value", bad, f"written {text!r} but the comparator column says otherwise")
            values[bad] = ""
            refused["value"] = bad | refused.get("value", False)
            rows = rows & ~bad
        warn("value", text, f"{number} (comparator {op})", rows)
        values[rows] = number
        comparator[rows] = op
    frame["value"] = values
    frame["comparator"] = comparator


def _lab_units(
    frame: pd.DataFrame, warn: Warn, refuse: Refuse, refused: dict[str, np.ndarray]
) -> bool:
    """Each (test, unit) pair once: the stored spelling, a conversion, or a refusal that
    names the unit column and the test's allowed units. True if any cell was rewritten."""
    changed = False
    pairs = frame[["test", "unit"]]
    distinct = pairs.drop_duplicates()
    for test, unit in distinct.itertuples(index=False, name=None):
        allowed = sp.LAB_UNITS.get(test)
        if allowed is None or unit == "":
            continue  # unknown tests and blank units are reported by the parser
        key = sp.spelling_key(unit).replace(" ", "") if unit else ""
        spec = allowed.get(sp.spelling_key(unit)) or allowed.get(key)
        if spec is not None and spec.stored == unit and spec.factor == 1:
            continue
        rows = ((frame["test"] == test) & (frame["unit"] == unit)).to_numpy()
        changed = True
        if spec is None:
            names = sorted({u.stored for u in allowed.values()})
            special = sp.LAB_UNIT_REFUSALS.get(test, {}).get(sp.spelling_key(unit))
            refuse(
                "unit",
                rows,
                special or f"not an allowed unit for {test} (allowed: {', '.join(names)})",
            )
            frame.loc[rows, "value"] = ""
            refused["unit"] = rows | refused.get("unit", False)
            refused["value"] = rows | refused.get("value", False)
            continue
        if spec.factor != 1:
            _convert(frame, rows, spec.factor, warn, unit, spec.stored, refuse, refused)
        else:
            warn("unit", unit, spec.stored, rows)
        frame.loc[rows, "unit"] = spec.stored
    return changed


def _convert(
    frame: pd.DataFrame,
    rows: np.ndarray,
    factor: Decimal,
    warn: Warn,
    unit: str,
    stored: str,
    refuse: Refuse,
    refused: dict[str, np.ndarray],
) -> None:
    """Value, lln and uln in the stored unit (exact decimal arithmetic: 125 g/L → 12.5)."""
    warn("unit", unit, f"{stored} (value, lln, uln × {factor})", rows)
    for name in ("value", "lln", "uln"):
        cells = frame.loc[rows, name]
        converted = []
        for text in cells.tolist():
            if text == "":
                converted.append("")
                continue
            try:
                converted.append(_decimal_text(Decimal(text) * factor))
            except InvalidOperation:
                converted.append(text)  # the parser reports "not a number"
        frame.loc[rows, name] = converted


def _decimal_text(d: Decimal) -> str:
    text = format(d.normalize(), "f")
    return text


def missing_set(options: ReadOptions) -> frozenset[str]:
    return frozenset(sp.spelling_key(m) for m in options.missing)
