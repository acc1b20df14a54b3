"""Validation of a registry folder: every problem, with file, line, column, value and reason.

The importer refuses a folder with any *error* and writes nothing, so the whole folder is
checked before the database is touched and every problem is reported at once (a registrar fixes
a spreadsheet in one pass, not one error per run). *Warnings* are normalised spellings and
kidney-specific consistency checks that a registrar should look at but that can be legitimate;
they never block an import. The same problem on many rows is reported as one entry with a
count and its first lines (`Report.groups`).

Reading (which files, formats, headers) is `registry.reader`; rewriting hospital spellings to
canonical cells is `registry.normalise`, driven by the table in `registry.spellings`.

Checks are vectorised with pandas so that 100,000-patient folders validate in seconds; only the
offending rows are turned into `Issue` objects. Line numbers are CSV record numbers + 1 (the
header is line 1), which equals the physical line unless a quoted cell spans several lines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from renalpath.clinical.clavien_dindo import parse_grade
from renalpath.clinical.common import ClinicalInputError
from renalpath.clinical.staging import t_category
from renalpath.clinical.units import creatinine_to_mg_dl
from renalpath.registry.coded_checks import check_coded
from renalpath.registry.dictionary import ABLATION_TYPES, FILES, ColumnSpec, FileSpec
from renalpath.registry.normalise import FileContext, ReadOptions, missing_set, normalise_frame
from renalpath.registry.reader import LINE, iter_sources

Severity = Literal["error", "warning"]

_DATE_RE = r"\d{4}-\d{2}-\d{2}"
_INT_RE = r"[+-]?\d+"
_SHOWN_LINES = 5  # lines listed per grouped entry

__all__ = ["LINE", "Issue", "ReadOptions", "Report"]


@dataclass(frozen=True)
class Issue:
    """One problem in a registry folder (`rows` > 1: one spelling rewritten on many rows)."""

    severity: Severity
    file: str
    line: int | None
    column: str | None
    value: str | None
    reason: str
    rows: int = 1
    lines: tuple[int, ...] = ()

    def text(self) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        col = f" column {self.column}" if self.column else ""
        val = f" value {self.value!r}" if self.value is not None else ""
        return f"{self.severity}: {where}{col}{val}: {self.reason}"


@dataclass
class Group:
    """Issues of one cause: same severity, file, column, reason (and value, when one)."""

    severity: Severity
    file: str
    column: str | None
    reason: str
    value: str | None
    rows: int
    lines: list[int]

    def text(self) -> str:
        col = f" column {self.column}" if self.column else ""
        val = f" value {self.value!r}" if self.value is not None else ""
        if self.rows <= 1:
            where = self.file + (f":{self.lines[0]}" if self.lines else "")
            return f"{self.severity}: {where}{col}{val}: {self.reason}"
        shown = ", ".join(map(str, self.lines[:_SHOWN_LINES]))
        more = ", …" if self.rows > len(self.lines[:_SHOWN_LINES]) else ""
        return (
            f"{self.severity}: {self.file}{col}{val}: {self.reason} — {self.rows} rows "
            f"(lines {shown}{more})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "file": self.file,
            "column": self.column,
            "value": self.value,
            "reason": self.reason,
            "rows": self.rows,
            "line": self.lines[0] if self.lines else None,
            "lines": self.lines[:_SHOWN_LINES],
        }


@dataclass
class Report:
    """All problems of one folder; `ok` means no errors (warnings allowed)."""

    issues: list[Issue] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)  # tables that could not be read at all
    failed_header: set[str] = field(default_factory=set)  # read, but with a refused column
    labels: dict[str, str] = field(default_factory=dict)  # table → file name in messages

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def label(self, spec: FileSpec) -> str:
        return self.labels.get(spec.name, spec.filename)

    def add(
        self,
        severity: Severity,
        file: str,
        line: int | None,
        column: str | None,
        value: object,
        reason: str,
    ) -> None:
        text = None if value is None or (isinstance(value, float) and np.isnan(value)) else value
        self.issues.append(
            Issue(severity, file, line, column, None if text is None else str(text), reason)
        )

    def add_rows(
        self,
        severity: Severity,
        spec: FileSpec,
        frame: pd.DataFrame,
        mask: pd.Series,
        column: str | None,
        reason: str | Iterable[str],
        values: pd.Series | None = None,
    ) -> None:
        """One issue per row where `mask` is true (reason may be per-row)."""
        if not mask.any():
            return
        rows = frame.loc[mask]
        vals = values if values is not None else frame[column] if column else None
        picked = vals.loc[mask].tolist() if vals is not None else [None] * len(rows)
        reasons = [reason] * len(rows) if isinstance(reason, str) else list(reason)
        file = self.label(spec)
        for line, value, why in zip(rows[LINE].tolist(), picked, reasons, strict=True):
            if isinstance(value, pd.Timestamp):
                value = value.date().isoformat()
            self.add(severity, file, int(line), column, value, why)

    def add_rewrite(
        self,
        spec: FileSpec,
        frame: pd.DataFrame,
        column: str,
        raw: str,
        stored: str,
        rows: np.ndarray,
    ) -> None:
        """One warning for a spelling rewritten on `rows`: written → stored, how many, where."""
        lines = frame[LINE].to_numpy()[rows]
        if not len(lines):
            return
        shown = tuple(int(n) for n in lines[:_SHOWN_LINES])
        reason = f"stored as {stored!r}" if stored != "" else "read as blank (missing value)"
        self.issues.append(
            Issue("warning", self.label(spec), shown[0], column, raw, reason, len(lines), shown)
        )

    def sorted(self) -> list[Issue]:
        order = {name: i for i, name in enumerate(FILES)}
        return sorted(
            self.issues,
            key=lambda i: (
                i.severity != "error",
                order.get(i.file.split(".")[0].split(":")[-1].lower(), 99),
                i.line or 0,
                i.column or "",
            ),
        )

    def groups(self) -> list[Group]:
        """Issues grouped by cause, in report order (errors first)."""
        out: dict[tuple[Any, ...], Group] = {}
        for i in self.sorted():
            key = (i.severity, i.file, i.column, i.reason, i.value if i.rows > 1 else None)
            g = out.get(key)
            lines = list(i.lines) if i.lines else ([i.line] if i.line is not None else [])
            if g is None:
                out[key] = Group(i.severity, i.file, i.column, i.reason, i.value, i.rows, lines)
                continue
            g.rows += i.rows
            if len(g.lines) < _SHOWN_LINES:
                g.lines.extend(lines[: _SHOWN_LINES - len(g.lines)])
            if g.value != i.value:
                g.value = None  # several values: each is in its own line
        return list(out.values())

    def to_dict(self) -> dict[str, Any]:
        groups = self.groups()
        return {
            "ok": self.ok,
            "errors": [g.to_dict() for g in groups if g.severity == "error"],
            "warnings": [g.to_dict() for g in groups if g.severity == "warning"],
        }

    def render(self) -> str:
        lines = [g.text() for g in self.groups()]
        lines.append(f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)")
        return "\n".join(lines)

    def all_issues(self) -> list[dict[str, Any]]:
        """Every issue, one per row (for callers that need each line)."""
        return [asdict(i) for i in self.sorted()]


# --- per-column parsing --------------------------------------------------------------------


def _case_hint(values: pd.Series, allowed: tuple[str, ...]) -> list[str]:
    lower = {a.lower(): a for a in allowed}
    out = []
    for v in values.tolist():
        match = lower.get(v.lower())
        msg = f"not one of {' | '.join(allowed)}"
        out.append(msg + (f"; did you mean {match!r}?" if match else ""))
    return out


def _distinct(raw: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes and distinct values of an all-string column: per-value work (regexes, number
    parsing) then runs once per distinct text instead of once per row."""
    codes, uniq = pd.factorize(raw.to_numpy(object))
    return np.asarray(codes), pd.Series(uniq, dtype=object)


def _parse_column(
    spec: FileSpec,
    col: ColumnSpec,
    frame: pd.DataFrame,
    report: Report,
    refused: np.ndarray | None = None,
    distinct: tuple[np.ndarray, pd.Series] | None = None,
) -> pd.Series:
    raw = frame[col.name]
    blank = raw == ""
    if col.required:
        missing = blank if refused is None else blank & ~refused
        report.add_rows("error", spec, frame, missing, col.name, "required value missing")
    present = ~blank
    if col.type == "date":
        # Parsed once per distinct text (a registry has far fewer distinct dates than rows).
        codes, uniq = distinct or _distinct(raw)
        u_present = uniq != ""
        shaped = uniq.str.fullmatch(_DATE_RE).fillna(False).astype(bool)
        u_parsed = pd.to_datetime(
            uniq.where(u_present & shaped), format="%Y-%m-%d", errors="coerce"
        )
        parsed = pd.Series(u_parsed.to_numpy()[codes], index=raw.index)
        bad = present & parsed.isna()
        report.add_rows("error", spec, frame, bad, col.name, "not a valid date (YYYY-MM-DD)")
        return parsed
    if col.type in ("int", "float"):
        codes, uniq = distinct or _distinct(raw)
        u_present = uniq != ""
        u_number = pd.to_numeric(uniq.where(u_present), errors="coerce")
        u_bad = u_present & ~np.isfinite(u_number.fillna(np.nan).astype(float))
        if col.type == "int":
            u_bad |= u_present & ~uniq.str.fullmatch(_INT_RE).fillna(False).astype(bool)
        u_number = u_number.where(~u_bad).astype(float)
        number = pd.Series(u_number.to_numpy()[codes], index=raw.index, dtype=float)
        bad = pd.Series(u_bad.to_numpy()[codes], index=raw.index, dtype=bool)
        what = "an integer" if col.type == "int" else "a number"
        report.add_rows("error", spec, frame, bad, col.name, f"not {what}")
        _check_range(spec, col, frame, number, report)
        if col.type == "int":
            return number.astype("Int64")
        return number
    if col.type == "bool":
        bad = present & ~raw.isin(("true", "false"))
        report.add_rows(
            "error", spec, frame, bad, col.name, _case_hint(raw[bad], ("true", "false"))
        )
        return raw.map({"true": True, "false": False}).astype(object).where(present & ~bad, None)
    if col.type == "enum":
        assert col.enum is not None
        if col.name == "clavien_dindo":
            return _parse_clavien(spec, col, frame, report)
        bad = present & ~raw.isin(col.enum)
        report.add_rows("error", spec, frame, bad, col.name, _case_hint(raw[bad], col.enum))
        return raw.where(present & ~bad, None)
    return raw.where(present, None)


def _check_range(
    spec: FileSpec, col: ColumnSpec, frame: pd.DataFrame, number: pd.Series, report: Report
) -> None:
    if col.min is None and col.max is None:
        return
    low = -np.inf if col.min is None else col.min
    high = np.inf if col.max is None else col.max
    out = number.notna() & ((number < low) | (number > high))
    unit = f" {col.unit}" if col.unit else ""
    reason = f"outside the plausible range {low:g}–{high:g}{unit}"
    report.add_rows("error", spec, frame, out, col.name, reason)


def _parse_clavien(
    spec: FileSpec, col: ColumnSpec, frame: pd.DataFrame, report: Report
) -> pd.Series:
    """Clavien–Dindo grades through the calculator's parser; only canonical spellings pass,
    so every registry holds one spelling per grade (IIIa, IVb-d …)."""
    raw = frame[col.name]
    verdict: dict[str, str | None] = {}
    for text in raw[raw != ""].unique().tolist():
        try:
            canonical = str(parse_grade(text))
        except ClinicalInputError as err:
            verdict[text] = "; ".join(p.message() for p in err.problems)
            continue
        verdict[text] = None if canonical == text else f"write it as {canonical!r}"
    reasons = raw.map(verdict)
    bad = (raw != "") & reasons.notna()
    report.add_rows("error", spec, frame, bad, col.name, reasons[bad].tolist())
    return raw.where((raw != "") & ~bad, None)


def parse_frames(
    raw: dict[str, pd.DataFrame],
    report: Report,
    contexts: dict[str, FileContext] | None = None,
    *,
    normalise: bool = True,
) -> dict[str, pd.DataFrame]:
    """Typed frames: dates as datetime64 (NaT), numbers as float/Int64, bools and text as
    objects with None for blank; cells that failed to parse are blank and already reported.

    Non-canonical spellings are first rewritten (`registry.normalise`), each rewrite one
    warning, for folder imports and single-record writes alike (a record is refused or
    accepted exactly as an import of it would be); `contexts` carries per-file reading facts
    (decimal commas, options). `normalise=False` is for cells already canonical (stored
    rows read back)."""
    typed: dict[str, pd.DataFrame] = {}
    for name, frame in raw.items():
        spec = FILES[name]
        ctx = (contexts or {}).get(name) or _DEFAULT_CONTEXT
        frame = frame.copy() if contexts is None else frame

        def warn(
            column: str,
            text: str,
            stored: str,
            rows: np.ndarray,
            spec: FileSpec = spec,
            frame: pd.DataFrame = frame,
        ) -> None:
            report.add_rewrite(spec, frame, column, text, stored, rows)

        def refuse(
            column: str,
            rows: np.ndarray,
            reason: str,
            spec: FileSpec = spec,
            frame: pd.DataFrame = frame,
        ) -> None:
            mask = pd.Series(rows, index=frame.index)
            report.add_rows("error", spec, frame, mask, column, reason)

        distinct: dict[str, tuple[np.ndarray, pd.Series]] = {}
        refused = normalise_frame(spec, frame, ctx, warn, refuse, distinct) if normalise else {}
        out = pd.DataFrame({LINE: frame[LINE]})
        for col in spec.columns:
            out[col.name] = _parse_column(
                spec, col, frame, report, refused.get(col.name), distinct.get(col.name)
            )
        typed[name] = out
    return typed


_DEFAULT_CONTEXT = FileContext(ReadOptions(), missing=missing_set(ReadOptions()))


# --- cross-row rules -----------------------------------------------------------------------


@dataclass
class Reference:
    """The rows the folder may point to: its own plus those already in the database."""

    patients: pd.DataFrame  # patient_id, sex, birth_date, death_date, black_race
    tumours: pd.DataFrame  # tumour_id, patient_id, side, diagnosis_date
    interventions: pd.DataFrame  # intervention_id, patient_id, tumour_id, date, type, side


def empty_reference() -> Reference:
    return Reference(
        patients=pd.DataFrame(
            {
                "patient_id": pd.Series(dtype=object),
                "sex": pd.Series(dtype=object),
                "birth_date": pd.Series(dtype="datetime64[ns]"),
                "death_date": pd.Series(dtype="datetime64[ns]"),
                "black_race": pd.Series(dtype=object),
            }
        ),
        tumours=pd.DataFrame(
            {
                "tumour_id": pd.Series(dtype=object),
                "patient_id": pd.Series(dtype=object),
                "side": pd.Series(dtype=object),
                "diagnosis_date": pd.Series(dtype="datetime64[ns]"),
            }
        ),
        interventions=pd.DataFrame(
            {
                "intervention_id": pd.Series(dtype=object),
                "patient_id": pd.Series(dtype=object),
                "tumour_id": pd.Series(dtype=object),
                "date": pd.Series(dtype="datetime64[ns]"),
                "type": pd.Series(dtype=object),
                "side": pd.Series(dtype=object),
            }
        ),
    )


def _overlay(existing: pd.DataFrame, new: pd.DataFrame | None, key: str) -> pd.DataFrame:
    cols = list(existing.columns)
    if new is None or new.empty:
        return existing.set_index(key, drop=False)
    fresh = new[cols]
    keep = existing[~existing[key].isin(fresh[key])]
    both = pd.concat([keep, fresh], ignore_index=True) if len(keep) else fresh
    return both.drop_duplicates(key, keep="last").set_index(key, drop=False)


def merged_reference(existing: Reference, typed: dict[str, pd.DataFrame]) -> Reference:
    """Folder rows override database rows with the same id (an upsert changes them)."""
    return Reference(
        patients=_overlay(existing.patients, typed.get("patients"), "patient_id"),
        tumours=_overlay(existing.tumours, typed.get("tumours"), "tumour_id"),
        interventions=_overlay(
            existing.interventions, typed.get("interventions"), "intervention_id"
        ),
    )


def _duplicates(spec: FileSpec, frame: pd.DataFrame, report: Report) -> None:
    key = [k for k in spec.key if k != "seq"]
    if spec.name == "complications":
        return  # ordinal key: repeated rows are distinct complications
    # Hash the typed key columns directly (blank/NaT compare equal to each other, as their
    # text would); only rows that are duplicated are turned into text.
    # Rows whose required key cell failed to parse are already reported: not duplicates.
    required = [k for k in key if spec.column(k).required]
    parsed = frame[required].notna().all(axis=1)
    dup = frame[key].duplicated(keep=False) & parsed
    if not dup.any():
        return
    subset = frame.loc[dup, key].astype(str)
    groups = pd.Series(subset.apply(tuple, axis=1), index=subset.index)
    first_line = frame.loc[dup, LINE].groupby(groups).transform("min")
    later = dup & frame[LINE].ne(first_line.reindex(frame.index))
    lines = first_line.reindex(frame.index)[later].tolist()
    reasons = [f"duplicate of line {int(n)} (key: {', '.join(key)})" for n in lines]
    report.add_rows("error", spec, frame, later, key[0], reasons)


def _unknown_ref(
    spec: FileSpec, frame: pd.DataFrame, col: str, ids: pd.Index, what: str, report: Report
) -> pd.Series:
    present = frame[col].notna()
    bad = present & ~frame[col].isin(ids)
    if f"{what}s" in report.failed:
        return present & ~bad  # that file could not be read: no knock-on errors
    report.add_rows(
        "error",
        spec,
        frame,
        bad,
        col,
        f"unknown {what} (not in {report.labels.get(what + 's', what + 's.csv')} "
        "nor in the database)",
    )
    return present & ~bad


def _date_rule(
    report: Report,
    severity: Severity,
    spec: FileSpec,
    frame: pd.DataFrame,
    col: str,
    mask: pd.Series,
    reason: str,
    other: pd.Series,
) -> None:
    """`reason` may contain {other}: the date it conflicts with."""
    mask = mask.fillna(False).astype(bool)
    if not mask.any():
        return
    reasons = [reason.format(other=d.date().isoformat()) for d in other[mask]]
    report.add_rows(severity, spec, frame, mask, col, reasons)


def cross_checks(
    typed: dict[str, pd.DataFrame], ref: Reference, report: Report, *, duplicates: bool = True
) -> None:
    """References, uniqueness, date order, units and kidney-specific consistency.

    `duplicates=False` is for a chunk of a file: its duplicate keys are checked over the whole
    file by the caller (`registry.import_stream.DuplicateKeys`)."""
    today = pd.Timestamp(dt.date.today())
    for name, frame in typed.items():
        spec = FILES[name]
        if duplicates:
            _duplicates(spec, frame, report)
        for col in spec.columns:
            if col.type == "date":
                future = frame[col.name] > today
                report.add_rows("error", spec, frame, future, col.name, "date is in the future")

    pats = ref.patients
    birth = pats["birth_date"]
    death = pats["death_date"]

    def patient_dates(frame: pd.DataFrame, ok: pd.Series) -> tuple[pd.Series, pd.Series]:
        pid = frame["patient_id"].where(ok)
        return pid.map(birth), pid.map(death)

    if "patients" in typed:
        spec, f = FILES["patients"], typed["patients"]
        _date_rule(
            report,
            "error",
            spec,
            f,
            "death_date",
            f["death_date"] < f["birth_date"],
            "death before birth ({other})",
            f["birth_date"],
        )
        _date_rule(
            report,
            "error",
            spec,
            f,
            "last_contact_date",
            f["last_contact_date"] < f["birth_date"],
            "last contact before birth ({other})",
            f["birth_date"],
        )
        _date_rule(
            report,
            "warning",
            spec,
            f,
            "last_contact_date",
            f["last_contact_date"] > f["death_date"],
            "last contact after death ({other})",
            f["death_date"],
        )

    if "tumours" in typed:
        spec, f = FILES["tumours"], typed["tumours"]
        ok = _unknown_ref(spec, f, "patient_id", pats.index, "patient", report)
        b, d = patient_dates(f, ok)
        _date_rule(
            report,
            "error",
            spec,
            f,
            "diagnosis_date",
            f["diagnosis_date"] < b,
            "diagnosis before birth ({other})",
            b,
        )
        _date_rule(
            report,
            "error",
            spec,
            f,
            "diagnosis_date",
            f["diagnosis_date"] > d,
            "death before diagnosis (death {other})",
            d,
        )

    tum = ref.tumours
    if "imaging" in typed:
        spec, f = FILES["imaging"], typed["imaging"]
        ok = _unknown_ref(spec, f, "tumour_id", tum.index, "tumour", report)
        pid = f["tumour_id"].where(ok).map(tum["patient_id"])
        b, d = pid.map(birth), pid.map(death)
        _date_rule(
            report, "error", spec, f, "date", f["date"] < b, "imaging before birth ({other})", b
        )
        _date_rule(
            report, "error", spec, f, "date", f["date"] > d, "imaging after death ({other})", d
        )

    ivs = ref.interventions
    if "interventions" in typed:
        _check_interventions(typed["interventions"], ref, report)

    if "pathology" in typed:
        spec, f = FILES["pathology"], typed["pathology"]
        ok = _unknown_ref(spec, f, "intervention_id", ivs.index, "intervention", report)
        itype = f["intervention_id"].where(ok).map(ivs["type"])
        nonsurgical = itype.isin(("active_surveillance", "systemic_therapy", "radiotherapy"))
        report.add_rows(
            "warning",
            spec,
            f,
            nonsurgical,
            "intervention_id",
            [f"pathology recorded for a {t} (no specimen expected)" for t in itype[nonsurgical]],
        )
        _check_pt_vs_size(spec, f, report)

    if "complications" in typed:
        spec, f = FILES["complications"], typed["complications"]
        ok = _unknown_ref(spec, f, "intervention_id", ivs.index, "intervention", report)
        idate = f["intervention_id"].where(ok).map(ivs["date"])
        _date_rule(
            report,
            "error",
            spec,
            f,
            "date",
            f["date"] < idate,
            "complication before its intervention ({other})",
            idate,
        )
        d = f["intervention_id"].where(ok).map(ivs["patient_id"]).map(death)
        _date_rule(
            report, "error", spec, f, "date", f["date"] > d, "complication after death ({other})", d
        )

    if "labs" in typed:
        spec, f = FILES["labs"], typed["labs"]
        ok = _unknown_ref(spec, f, "patient_id", pats.index, "patient", report)
        b, d = patient_dates(f, ok)
        _date_rule(report, "error", spec, f, "date", f["date"] < b, "lab before birth ({other})", b)
        _date_rule(report, "error", spec, f, "date", f["date"] > d, "lab after death ({other})", d)
        _check_creatinine(spec, f, report)

    if "events" in typed:
        spec, f = FILES["events"], typed["events"]
        ok = _unknown_ref(spec, f, "patient_id", pats.index, "patient", report)
        tok = _unknown_ref(spec, f, "tumour_id", tum.index, "tumour", report)
        owner = f["tumour_id"].where(tok).map(tum["patient_id"])
        wrong = tok & ok & owner.ne(f["patient_id"])
        report.add_rows(
            "error",
            spec,
            f,
            wrong,
            "tumour_id",
            [f"tumour belongs to patient {p}" for p in owner[wrong]],
        )
        b, d = patient_dates(f, ok)
        _date_rule(
            report, "error", spec, f, "date", f["date"] < b, "event before birth ({other})", b
        )
        is_death = f["type"] == "death"
        _date_rule(
            report,
            "error",
            spec,
            f,
            "date",
            (f["date"] > d) & ~is_death,
            "event after death ({other})",
            d,
        )
        _date_rule(
            report,
            "warning",
            spec,
            f,
            "date",
            is_death & d.notna() & f["date"].ne(d),
            "death event differs from patients.death_date ({other})",
            d,
        )
        no_death = is_death & ok & d.isna()
        report.add_rows(
            "warning", spec, f, no_death, "type", "death event but patients.death_date is blank"
        )

    check_coded(typed, ref, report)


def _check_interventions(f: pd.DataFrame, ref: Reference, report: Report) -> None:
    spec = FILES["interventions"]
    pats, tum, ivs = ref.patients, ref.tumours, ref.interventions
    ok = _unknown_ref(spec, f, "patient_id", pats.index, "patient", report)
    tok = _unknown_ref(spec, f, "tumour_id", tum.index, "tumour", report)
    owner = f["tumour_id"].where(tok).map(tum["patient_id"])
    wrong = tok & ok & owner.ne(f["patient_id"])
    report.add_rows(
        "error",
        spec,
        f,
        wrong,
        "tumour_id",
        [f"tumour belongs to patient {p}" for p in owner[wrong]],
    )
    pid = f["patient_id"].where(ok)
    b, d = pid.map(pats["birth_date"]), pid.map(pats["death_date"])
    _date_rule(
        report, "error", spec, f, "date", f["date"] < b, "intervention before birth ({other})", b
    )
    _date_rule(
        report, "error", spec, f, "date", f["date"] > d, "intervention after death ({other})", d
    )
    dx = f["tumour_id"].where(tok).map(tum["diagnosis_date"])
    _date_rule(
        report,
        "warning",
        spec,
        f,
        "date",
        f["date"] < dx,
        "intervention before the tumour's diagnosis date ({other})",
        dx,
    )
    tside = f["tumour_id"].where(tok).map(tum["side"])
    side_clash = f["side"].notna() & tside.notna() & f["side"].ne(tside)
    report.add_rows(
        "warning",
        spec,
        f,
        side_clash,
        "side",
        [f"tumour is on the {s} side" for s in tside[side_clash]],
    )

    # Parent: must exist, belong to the same patient, and come first.
    pok = _unknown_ref(spec, f, "parent_intervention_id", ivs.index, "intervention", report)
    self_ref = pok & f["parent_intervention_id"].eq(f["intervention_id"])
    report.add_rows(
        "error",
        spec,
        f,
        self_ref,
        "parent_intervention_id",
        "an intervention cannot be its own parent",
    )
    parent = f["parent_intervention_id"].where(pok & ~self_ref)
    ppid = parent.map(ivs["patient_id"])
    other_patient = parent.notna() & ok & ppid.ne(f["patient_id"])
    report.add_rows(
        "error",
        spec,
        f,
        other_patient,
        "parent_intervention_id",
        [f"parent belongs to patient {p}" for p in ppid[other_patient]],
    )
    pdate = parent.map(ivs["date"])
    _date_rule(
        report,
        "error",
        spec,
        f,
        "parent_intervention_id",
        pdate > f["date"],
        "parent intervention is dated after this one ({other})",
        pdate,
    )

    # Kidney-specific: warm ischaemia is the clamping time of a
    # partial nephrectomy; on any other procedure it is almost always a mis-filed column.
    wit = f["warm_ischemia_min"].notna() & f["type"].notna() & f["type"].ne("partial_nephrectomy")
    report.add_rows(
        "warning",
        spec,
        f,
        wit,
        "warm_ischemia_min",
        [f"warm ischaemia recorded on a {t}" for t in f["type"][wit]],
    )
    nonsurgical = ~f["type"].isin(("partial_nephrectomy", "radical_nephrectomy", *ABLATION_TYPES))
    conv = f["conversion"].notna() & f["conversion"].ne("none") & nonsurgical & f["type"].notna()
    report.add_rows(
        "warning",
        spec,
        f,
        conv,
        "conversion",
        [f"conversion recorded on a {t}" for t in f["type"][conv]],
    )
    conv_rn = f["type"].eq("radical_nephrectomy") & f["conversion"].eq("radical")
    report.add_rows(
        "warning",
        spec,
        f,
        conv_rn,
        "conversion",
        "conversion to radical recorded on a radical nephrectomy",
    )
    has_intent = f["intent"].notna()
    orphan = f["intent"].eq("primary") & f["parent_intervention_id"].notna() & has_intent
    report.add_rows(
        "warning", spec, f, orphan, "parent_intervention_id", "parent given but intent is primary"
    )


# Organ-confined pT categories whose definition is size alone (AJCC 8th edition, kidney).
_SIZE_DEFINED_PT = ("T1a", "T1b", "T2a", "T2b")


def _check_pt_vs_size(spec: FileSpec, f: pd.DataFrame, report: Report) -> None:
    """pT1a–pT2b are defined by greatest dimension (AJCC 8, via `clinical.staging.t_category`):
    a recorded pT that the pathological size contradicts is a (common) registry error."""
    mask = f["pt"].isin(_SIZE_DEFINED_PT) & f["size_mm"].notna()
    if not mask.any():
        return
    sizes = f.loc[mask, "size_mm"]
    expected = sizes.map({s: _t_from_size(s) for s in sizes.unique().tolist()})
    clash = pd.Series(False, index=f.index)
    clash.loc[mask] = expected.ne(f.loc[mask, "pt"]) & expected.notna()
    reasons = [
        f"p{t} recorded but pathological size {s:g} mm implies p{e} (AJCC 8)"
        for t, s, e in zip(f["pt"][clash], f["size_mm"][clash], expected[clash[mask]], strict=True)
    ]
    report.add_rows("warning", spec, f, clash, "pt", reasons)


def _t_from_size(size_mm: float) -> str | None:
    try:
        return t_category(float(size_mm))
    except ClinicalInputError:
        return None  # out-of-range sizes are already reported by the range check


def _check_creatinine(spec: FileSpec, f: pd.DataFrame, report: Report) -> None:
    """Creatinine must be plausible in the unit it was reported in (`clinical.units`: 120 mg/dL
    is refused with "did you mean µmol/L?"). Checked once per distinct (value, unit) pair."""
    crea = f["test"].eq("creatinine") & f["value"].notna() & f["unit"].notna()
    if not crea.any():
        return
    pairs = f.loc[crea, ["value", "unit"]]
    wrong: list[tuple[float, str, str]] = []
    for value, unit in pairs.drop_duplicates().itertuples(index=False, name=None):
        try:
            creatinine_to_mg_dl(float(value), str(unit))
        except ClinicalInputError as err:
            wrong.append((value, unit, "; ".join(p.message() for p in err.problems)))
    if not wrong:
        return
    verdict = pd.DataFrame(wrong, columns=["value", "unit", "_why"])
    hits = pairs.reset_index().merge(verdict, on=["value", "unit"]).set_index("index")
    hits = hits.sort_index()
    bad = pd.Series(False, index=f.index)
    bad.loc[hits.index] = True
    report.add_rows("error", spec, f, bad, "value", hits["_why"].tolist())


def validate_folder(
    folder: Path, existing: Reference | None = None, options: ReadOptions | None = None
) -> tuple[Report, dict[str, pd.DataFrame], Reference]:
    """Parse and check a whole folder; returns the report, typed frames and the merged
    reference rows (folder over database) that the loader and derivations reuse."""
    report = Report()
    typed: dict[str, pd.DataFrame] = {}
    for name, raw, ctx, label in iter_sources(folder, report, options or ReadOptions()):
        report.labels[name] = label
        typed.update(parse_frames({name: raw}, report, {name: ctx}))
        del raw  # keep one file's raw strings at a time
    ref = merged_reference(existing or empty_reference(), typed)
    cross_checks(typed, ref, report)
    return report, typed, ref


def line_of(report: Report, file: str, column: str) -> list[int]:
    """Lines of a file/column with issues (test helper for readable assertions)."""
    return [i.line for i in report.issues if i.file == file and i.column == column and i.line]
