"""De-identified export: the registry folder with identifiers replaced and dates shifted.

REDCap's de-identified export is the model users know (remove tagged identifiers, hash the
record id, shift dates by up to 364 days per record keeping intervals, remove free text).
Every exported column is on an allow-list (`column_rule`), decided from the data dictionary
(`ColumnSpec.phi`) and, for the three short text columns, here:

* `record_id` columns (patient, tumour and intervention ids and every reference to them) are
  replaced by keyed pseudonyms: HMAC-SHA-256(key, "file.column" + id), the first 64 bits in
  hex, prefixed with the file's initial (`P-…`, `T-…`, `I-…`). A reference gets the pseudonym
  of the id it points to, so the folder stays internally consistent. Without the key a
  pseudonym cannot be reversed or recomputed from a guessed id (a plain hash could be).
* `date` columns are moved back by a per-patient number of days, 1–364, derived from the key
  and the patient id. Every date of a patient moves by the same amount, so every interval
  within a patient (surgery → recurrence, follow-up length, age at each event) is kept to the
  day. Backwards, not ±: a forward shift could put recent dates in the future, which import
  refuses; and never 0, so no date is exported as it was.
* `free_text` columns are blanked (kept as empty columns so the folder re-imports).
* coded columns (enumerations, numbers, booleans) are copied unchanged: they cannot hold text;
* `labs.unit` and `labs.equation` are text as typed, so they are mapped to controlled values
  (`UNITS`, the eGFR equations): an unknown equation is blanked, a lab whose unit is not a
  known unit is left out (a unit "John Smith MRN 1234567" must never reach a researcher);
  both are counted in the result;
* `systemic_therapy.regimen` may only hold agent names of `registry/codes/agents.csv` joined
  by + (validated on import); anything else is blanked and counted;
* any other column of type "str" without a tag is refused before anything is written, so a
  new text column cannot leak by default.

The key must be persistent (`configured_key`): the same key gives every patient the same
shift and pseudonyms in every export, so comparing successive exports reveals nothing new;
one-off keys would let a recipient link exports by their values and intersect the shifts
(docs/deidentification.md has the threat model).

The result has the same CSV dictionary as a normal export, so it re-imports and the studies
run on it. Known differences from the original (documented, not bugs):
* calendar years move (concordance "by year" and study --from/--to windows select
  differently); age in completed years can differ by one when an event falls within a day of
  a birthday and a 29 February lies between the true and the shifted dates;
* rows are re-sorted by their pseudonymous keys, so the order of patients no longer reveals
  the order of registration; same-day interventions of one tumour may tie-break differently.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from renalpath.clinical.egfr import EQUATIONS
from renalpath.errors import Refusal
from renalpath.registry import audit
from renalpath.registry.coded_checks import regimen_problem
from renalpath.registry.db import lock_for_write
from renalpath.registry.dictionary import FILES, FileSpec
from renalpath.registry.exporter import export_folder, formula_safe_frame

MAX_SHIFT_DAYS = 364  # REDCap's de-identification: "shift dates by up to 364 days per record"
MIN_KEY_BYTES = 16  # 128 bits: below that a key could be guessed and pseudonyms reversed
KEY_FILE_ENV = "RENALPATH_DEID_KEY_FILE"  # the persistent de-identification key
PSEUDONYM_HEX = 16  # 64 bits of the HMAC: collisions are checked, not assumed away
_KEY_PURPOSE = b"renalpath/deidentify/v1"


class DeidentifyError(Refusal, ValueError):
    """The folder or key cannot be de-identified safely (message names the file/field)."""


# ------------------------------------------------------------------------------- keys


def new_key() -> bytes:
    """A random key (for a key file, or tests); never used for an export on its own, since
    one-off keys make successive exports comparable (see module doc)."""
    return secrets.token_bytes(32)


def configured_key() -> bytes | None:
    """The persistent key of `RENALPATH_DEID_KEY_FILE`, or None when none is configured."""
    path = os.environ.get(KEY_FILE_ENV)
    return load_key(Path(path), KEY_FILE_ENV) if path else None


def new_key_file(path: Path) -> None:
    """Write a fresh random key (hex) to `path`, readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(new_key().hex() + "\n")


def derive_key(secret: str) -> bytes:
    """A de-identification key derived from an instance secret (e.g. the web server's).

    Derived rather than used as is, so the session-signing secret never keys anything else
    directly and the two cannot be confused. The derived key is as strong as the secret (the
    server's default is 32 random bytes); a server whose secret changes at restart gives new
    pseudonyms after each restart.
    """
    if not secret:
        raise DeidentifyError("secret: empty (a de-identification key needs a server secret)")
    return hmac.new(secret.encode("utf-8"), _KEY_PURPOSE, hashlib.sha256).digest()


def load_key(path: Path, option: str = "--key-file") -> bytes:
    """The key in a file (its bytes, without surrounding whitespace or a trailing newline)."""
    try:
        raw = path.read_bytes().strip()
    except OSError as err:
        raise DeidentifyError(f"{option}: cannot read {str(path)!r}: {err.strerror}") from err
    if len(raw) < MIN_KEY_BYTES:
        raise DeidentifyError(
            f"{option}: {str(path)!r} holds {len(raw)} bytes "
            f"(allowed: at least {MIN_KEY_BYTES}; e.g. `openssl rand -hex 32 > FILE`)"
        )
    return raw


class Pseudonymiser:
    """Keyed pseudonyms and per-patient date offsets (both deterministic in key and id)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise DeidentifyError(f"key: too short (allowed: at least {MIN_KEY_BYTES} bytes)")
        self._key = key

    def _mac(self, domain: str, value: str) -> bytes:
        msg = domain.encode("utf-8") + b"\x1f" + value.encode("utf-8")
        return hmac.new(self._key, msg, hashlib.sha256).digest()

    def pseudonym(self, namespace: str, value: str) -> str:
        """Pseudonym of `value` among the ids of `namespace` ("patients.patient_id")."""
        prefix = namespace[:1].upper()
        return f"{prefix}-{self._mac(namespace, value).hex()[:PSEUDONYM_HEX]}"

    def shift_days(self, patient_id: str) -> int:
        """Days (1–364) every date of this patient moves back."""
        # 2**64 mod 364 gives a bias below 1e-17 per value: negligible.
        number = int.from_bytes(self._mac("date-shift", patient_id)[:8], "big")
        return 1 + number % MAX_SHIFT_DAYS


# ------------------------------------------------------------------------ allow-list

# Lab units as laboratories write them → one controlled spelling (case-insensitive match).
UNITS: dict[str, str] = {
    u.lower(): u
    for u in (
        "mg/dL",
        "µmol/L",
        "g/dL",
        "g/L",
        "mmol/L",
        "U/L",
        "IU/L",
        "10^9/L",
        "%",
        "mL/min/1.73m2",
        "mg/L",
        "µmol/L",
    )
}
UNITS |= {
    "umol/l": "µmol/L",
    "μmol/l": "µmol/L",
    "ml/min/1.73 m2": "mL/min/1.73m2",
    "ml/min/1.73m²": "mL/min/1.73m2",
    "ml/min/1.73 m²": "mL/min/1.73m2",
    "x10^9/l": "10^9/L",
    "10*9/l": "10^9/L",
    "g/l": "g/L",
}


class _Regimens(Mapping[str, str]):
    """Regimens: agent names of `registry/codes/agents.csv` joined by + (nothing else)."""

    def __getitem__(self, key: str) -> str:
        if regimen_problem(key, None) is not None:
            raise KeyError(key)
        return key

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


_CONTROLLED: dict[tuple[str, str], tuple[Mapping[str, str], Literal["drop_row", "blank"]]] = {
    ("labs", "unit"): (UNITS, "drop_row"),
    ("labs", "equation"): ({e: e for e in EQUATIONS}, "blank"),
    ("systemic_therapy", "regimen"): (_Regimens(), "blank"),
}

Rule = Literal["pseudonym", "shift", "blank", "copy", "controlled"]


def column_rule(spec: FileSpec, column: str) -> Rule:
    """How a column is exported; DeidentifyError for a text column nobody decided about."""
    col = spec.column(column)
    if col.phi == "record_id":
        return "pseudonym"
    if col.phi == "date":
        return "shift"
    if col.phi is not None:
        return "blank"
    if (spec.name, column) in _CONTROLLED:
        return "controlled"
    if col.type in ("enum", "int", "float", "bool"):
        return "copy"
    raise DeidentifyError(
        f"{spec.filename}.{column}: a text column without a de-identification rule "
        "(tag it in the data dictionary or map it to controlled values)"
    )


# ----------------------------------------------------------------------------- folders


@dataclass(frozen=True)
class DeidentifiedExport:
    """What was written: rows per file (offsets and the key are never reported)."""

    rows: Mapping[str, int]
    patients: int
    # Cells not on the controlled lists: "file.column" → rows left out or values blanked.
    withheld: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "deidentified": True,
            "rows": dict(self.rows),
            "patients": self.patients,
            "withheld": dict(self.withheld),
            "date_shift": f"1-{MAX_SHIFT_DAYS} days back, one offset per patient",
        }


def _namespace(spec: FileSpec, column: str) -> str:
    col = spec.column(column)
    return col.references or f"{spec.name}.{column}"


def _read(path: Path, spec: FileSpec) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    unknown = [c for c in frame.columns if c not in spec.column_names]
    if unknown:
        # An untagged column might hold anything (a name, a hospital number): refuse it.
        raise DeidentifyError(
            f"{spec.filename}: unknown column(s) {', '.join(map(repr, unknown))} "
            "(allowed: the data-dictionary columns; see `renalpath dictionary`)"
        )
    for name in spec.column_names:
        if name not in frame.columns:
            frame[name] = ""
    return frame[list(spec.column_names)]


def _owners(
    spec: FileSpec, frame: pd.DataFrame, owner_of: Mapping[str, dict[str, str]]
) -> pd.Series:
    """The (original) patient id of each row, or raise naming the first row without one."""
    if "patient_id" in frame.columns:
        owners = frame["patient_id"]
    else:
        via = next(
            (c for c in spec.columns if c.phi == "record_id" and c.references in owner_of),
            None,
        )
        if via is None:
            raise DeidentifyError(f"{spec.filename}: no column links its dates to a patient")
        owners = frame[via.name].map(owner_of[str(via.references)]).fillna("")
    missing = owners == ""
    if missing.any():
        line = int(np.flatnonzero(missing.to_numpy())[0]) + 2  # header is line 1
        raise DeidentifyError(
            f"{spec.filename}:{line}: row has dated values but no known patient "
            "(dangling reference; import the folder first to validate it)"
        )
    return owners


def _shift(spec: FileSpec, column: str, values: pd.Series, back: np.ndarray) -> pd.Series:
    blank = (values == "").to_numpy()
    out = values.copy()
    if blank.all():
        return out
    try:
        days = np.array(values[~blank].tolist(), dtype="datetime64[D]")
    except ValueError as err:
        raise DeidentifyError(f"{spec.filename}.{column}: {err} (allowed: YYYY-MM-DD)") from err
    moved = days - back[~blank].astype("timedelta64[D]")
    out.loc[~blank] = np.datetime_as_string(moved, unit="D")
    return out


def deidentify_folder(src: Path, dst: Path, key: bytes) -> DeidentifiedExport:
    """Write the de-identified copy of registry folder `src` into `dst` (see module doc)."""
    pseud = Pseudonymiser(key)
    frames: dict[str, pd.DataFrame] = {}
    for name, spec in FILES.items():
        path = src / spec.filename
        if path.exists():
            frames[name] = _read(path, spec)
    # Who owns each row, through the patient id or an id that leads to one (parents first).
    owner_of: dict[str, dict[str, str]] = {}
    for name, spec in FILES.items():
        frame = frames.get(name)
        if frame is None or "patient_id" not in frame.columns:
            continue
        for col in spec.columns:
            if col.phi == "record_id" and col.references is None and col.name != "patient_id":
                owner_of[f"{name}.{col.name}"] = dict(
                    zip(frame[col.name], frame["patient_id"], strict=True)
                )
    mapping: dict[str, dict[str, str]] = {}

    def pseudonyms(namespace: str, values: pd.Series) -> pd.Series:
        table = mapping.setdefault(namespace, {})
        for v in values.unique():
            if v and v not in table:
                table[v] = pseud.pseudonym(namespace, v)
        return values.map(lambda v: table.get(v, "") if v else "")

    outputs: dict[str, pd.DataFrame] = {}  # all checked before anything is written
    withheld: dict[str, int] = {}
    for name, spec in FILES.items():
        frame = frames.get(name)
        if frame is None:
            continue
        rules = {c: column_rule(spec, c) for c in spec.column_names}
        keep = pd.Series(True, index=frame.index)
        frame = frame.copy()
        for c, rule in rules.items():
            if rule != "controlled":
                continue
            allowed, action = _CONTROLLED[(name, c)]
            mapped = frame[c].map(lambda v, a=allowed: a.get(v.strip().lower(), a.get(v)))
            bad = frame[c].ne("") & mapped.isna()
            if bad.any():
                withheld[f"{name}.{c}"] = int(bad.sum())
            if action == "drop_row":
                keep &= ~bad
            frame[c] = mapped.fillna("")
        frame = frame.loc[keep]
        out = frame.copy()
        date_cols = [c.name for c in spec.columns if c.phi == "date"]
        if date_cols and len(frame):
            owners = _owners(spec, frame, owner_of)
            back_of = {p: pseud.shift_days(p) for p in owners.unique()}
            back = owners.map(back_of).to_numpy(dtype=np.int64)
            for c in date_cols:
                out[c] = _shift(spec, c, frame[c], back)
        for col in spec.columns:
            if col.phi == "record_id":
                out[col.name] = pseudonyms(_namespace(spec, col.name), frame[col.name])
            elif col.phi == "free_text":
                out[col.name] = ""
        sort_cols = [k for k in spec.key if k != "seq"]
        outputs[name] = out.sort_values(sort_cols, kind="stable")  # keeps complications' order
    for namespace, table in mapping.items():
        if len(set(table.values())) != len(table):
            raise DeidentifyError(
                f"{namespace}: two ids received the same pseudonym; use another key"
            )
    dst.mkdir(parents=True, exist_ok=True)
    for name, out in outputs.items():
        safe = formula_safe_frame(FILES[name], out)
        safe.to_csv(dst / FILES[name].filename, index=False, lineterminator="\n")
    rows = {name: len(out) for name, out in outputs.items()}
    n_patients = len(mapping.get("patients.patient_id", {}))
    return DeidentifiedExport(rows=rows, patients=n_patients, withheld=withheld)


def export_deidentified(engine: Engine, folder: Path, key: bytes) -> DeidentifiedExport:
    """Export the registry and de-identify it; the identifiable copy lives only in a private
    temporary folder (mode 0700) that is removed before returning."""
    Pseudonymiser(key)  # refuse a weak key before reading anything
    with tempfile.TemporaryDirectory(prefix="renalpath-export-") as tmp:
        export_folder(engine, Path(tmp))
        return deidentify_folder(Path(tmp), folder, key)


def record_export(
    engine: Engine,
    actor: str,
    *,
    deidentified: bool,
    rows: Mapping[str, int],
    reason: str | None = None,
) -> None:
    """Audit an export (who, when, de-identified or full, rows per file), REDCap's "export"
    log type. The audit trail takes any action name; an export changes no data, so this is
    one row with `entity` "registry" and `entity_id` "deidentified" or "full"."""
    detail = json.dumps({"deidentified": deidentified, "rows": dict(rows)}, sort_keys=True)
    kind = "deidentified" if deidentified else "full"
    with engine.begin() as conn:
        lock_for_write(conn)
        audit.append(
            conn, [audit.Change("export", "registry", kind, None, None, detail)], actor, reason
        )
