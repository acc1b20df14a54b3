"""FHIR → registry folder: `renalpath import DIR --format fhir`.

Reads NDJSON files (one resource a line, the Bulk Data layout) and JSON files (a resource or a
Bundle, whose entries are read), parses every resource with `fhir.resources` (R4B models, the
R4-compatible release the library ships), and turns what the registry can hold into registry
rows, written as a registry folder that the CSV importer then validates and loads (all or
nothing, audited, exactly as for CSV).

Every resource ends in exactly one of three lists, so nothing is dropped silently:
* `rows`: mapped to registry rows;
* `skipped`: outside the registry's model, or derived from other resources (a stage group the
  export computed, the Tumor BodyStructure), each with its reason; the import goes on;
* `errors`: a resource the registry should hold but that cannot be read (not JSON, not valid
  FHIR, a registry row that contradicts the resource's own elements, a kidney tumour without
  side or date); any error refuses the whole import.

Resources written by `renalpath export --format fhir` carry every registry column in their
`registry-row` extension and round-trip exactly; the standard elements must agree with it.
Resources from other senders are read from their standard elements (Patient; kidney-cancer
Conditions by ICD-10/ICD-10-CM C64 or SNOMED CT 93849006 with laterality; clinical TNM
category Observations of an imported tumour; laboratory Observations with a LOINC code of
`registry/codes/loinc.csv`; and, through `coded_import`, ECOG and Karnofsky performance
status, CancerDiseaseStatus, SecondaryCancerCondition and cancer-related medications).
"""

from __future__ import annotations

import csv
import functools
import gc
import importlib
import json
import multiprocessing
import operator
import os
import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from renalpath.interop.fhir import coded_import
from renalpath.interop.fhir import codes as c
from renalpath.interop.fhir.fastcheck import FastValidator
from renalpath.interop.fhir.mapping import resource_id
from renalpath.registry import vocab
from renalpath.registry.dictionary import FILES, M_CATEGORIES, N_CATEGORIES, T_CATEGORIES
from renalpath.registry.spellings import tnm_meaning

# Optional: a JSON decoder ≈ 2× faster than the standard library's (see `_fast_loads`).
orjson: Any
try:
    orjson = importlib.import_module("orjson")
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None

Resource = dict[str, Any]
# Inputs at least this large are validated in a second process (`read_fhir`).
PARALLEL_MIN_BYTES = 16 * 1024 * 1024
KIDNEY_SNOMED = "93849006"  # Primary malignant neoplasm of kidney (disorder)


@dataclass(frozen=True)
class Where:
    file: str
    line: int
    entry: int | None = None

    def __str__(self) -> str:
        at = f"{self.file}:{self.line}"
        return at if self.entry is None else f"{at} entry {self.entry}"


@dataclass(frozen=True)
class Note:
    where: Where
    resource: str  # "Type/id"
    reason: str

    def render(self) -> str:
        return f"{self.where}: {self.resource}: {self.reason}"


# How many notes of each kind a report lists one by one (the rest are counted by reason).
LISTED = 1000
# How many distinct reasons are counted separately (reasons naming an id can be many).
REASONS = 50


@dataclass
class FhirReadResult:
    rows: dict[str, list[dict[str, str]]] = field(
        default_factory=lambda: {name: [] for name in FILES}
    )
    skipped: list[Note] = field(default_factory=list)
    errors: list[Note] = field(default_factory=list)
    resources: int = 0
    mapped: int = 0
    # Rows per file once `release_rows` has handed the rows over (see there).
    row_counts: dict[str, int] | None = None

    def release_rows(self) -> None:
        """Drop the rows once written to the registry folder, keeping their counts: the
        registry import then reads the folder, and both copies at once would double the
        peak memory of a large import."""
        self.row_counts = {k: len(v) for k, v in self.rows.items()}
        self.rows = {name: [] for name in FILES}

    def to_dict(self, listed: int = LISTED) -> dict[str, Any]:
        """The report; at most `listed` notes of each list, with every note counted.

        A re-import of our own 100,000-patient export skips 1.2 million derived resources: a
        report naming each one was 263 MB. The counts by reason keep every resource accounted
        for; the notes listed show where to look."""
        rows = self.row_counts
        if rows is None:
            rows = {k: len(v) for k, v in self.rows.items()}
        return {
            "resources": self.resources,
            "mapped": self.mapped,
            "rows": rows,
            "skipped": [n.render() for n in self.skipped[:listed]],
            "skipped_total": len(self.skipped),
            "skipped_by_reason": by_reason(self.skipped),
            "errors": [n.render() for n in self.errors[:listed]],
            "errors_total": len(self.errors),
            "errors_by_reason": by_reason(self.errors),
        }


def by_reason(notes: list[Note]) -> dict[str, int]:
    """Notes counted by reason, most frequent first; past `REASONS` reasons, one "other"."""
    counts = Counter(n.reason for n in notes)
    out = dict(counts.most_common(REASONS))
    rest = sum(counts.values()) - sum(out.values())
    if rest:
        out["other reasons"] = rest
    return out


# ------------------------------------------------------------------------------ reading


def _sources(path: Path) -> Iterator[tuple[str, int, str]]:
    """(file name, line, text) of every non-blank NDJSON line and every JSON file under
    `path` (line 1)."""
    files = (
        sorted(
            p
            for p in path.iterdir()
            if p.suffix in (".ndjson", ".json") and p.name != "manifest.json"
        )
        if path.is_dir()
        else [path]
    )
    for f in files:
        with f.open(encoding="utf-8") as handle:
            if f.suffix == ".ndjson":
                name = f.name
                for n, line in enumerate(handle, start=1):
                    if not line.isspace():  # (a line read from a file is never empty)
                        yield name, n, line
            else:
                yield f.name, 1, handle.read()


def iter_resources(path: Path) -> Iterator[tuple[Where, Resource | None, str]]:
    """(where, resource or None, parse problem) for every resource under `path`."""
    for name, line, text in _sources(path):
        yield from _parsed(Where(name, line), text)


# A text left unparsed by `_numbered`: one resource (see `_single`), and its place (not
# made: nobody reports on an unread resource).
UNREAD: Any = object()
_UNREAD_AT = Where("", 0)


def _single(text: str) -> bool:
    """Whether `text` gives exactly one (resource, problem) to `_parsed`: only a Bundle gives
    several, and without a backslash (no JSON escape) its type is spelled out literally."""
    return '"Bundle"' not in text and "\\" not in text


def _numbered(
    path: Path, parse: Callable[[int, str], bool], *, fast_json: bool = False
) -> Iterator[tuple[int, Where, Resource | None, str]]:
    """(ordinal, where, resource, problem) of every resource under `path`, numbered as
    `iter_resources` yields them; a text of one resource that `parse(ordinal, text)` declines
    is not parsed (its resource is `UNREAD`, its place `_UNREAD_AT`). `fast_json`: a text of
    one resource is decoded with `_fast_loads` (see there: only for the optimistic read)."""
    ordinal = 0
    fast = _fast_loads if fast_json else None
    for name, line, text in _sources(path):
        if _single(text):
            if not parse(ordinal, text):
                yield ordinal, _UNREAD_AT, UNREAD, ""
                ordinal += 1
                continue
            if fast is not None:
                res = fast(text)
                if res is not None:
                    yield ordinal, Where(name, line), res, ""
                    ordinal += 1
                    continue
        for inner, res, problem in _parsed(Where(name, line), text):
            yield ordinal, inner, res, problem
            ordinal += 1


def _fast_loads(text: str) -> Resource | None:
    """The resource in `text` decoded by orjson, or None: no orjson, not JSON to it, or not
    a single resource (`_parsed` then decodes it with the standard library, which gives the
    report's own words).

    orjson decodes an integer beyond 64 bits as a float, silently; a resource decoded by it
    is therefore used only by the optimistic read, whose worker process decodes every text
    the same way and reports any resource that is not *plain* (`FastValidator.check`: a
    float of magnitude 2**63 or more, the only form such an integer can take, or a value its
    walk did not see) as a refusal, so that the serial read, decoding with the standard
    library only, is done instead. Used only on texts without a backslash (no JSON escape,
    so no lone surrogate, which orjson refuses and the standard library accepts) that are
    not Bundles (`_single`)."""
    if orjson is None:
        return None
    try:
        res = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if res.__class__ is not dict or "resourceType" not in res or res["resourceType"] == "Bundle":
        return None
    return res


def _parsed(where: Where, text: str) -> Iterator[tuple[Where, Resource | None, str]]:
    try:
        res = json.loads(text)
    except json.JSONDecodeError as err:
        yield where, None, f"not JSON: {err.msg} (line {err.lineno} column {err.colno})"
        return
    if not isinstance(res, dict) or "resourceType" not in res:
        yield where, None, "not a FHIR resource (no resourceType)"
        return
    if res["resourceType"] == "Bundle":
        entries = res.get("entry") or []
        if not isinstance(entries, list):
            yield where, None, "Bundle.entry is not a list"
            return
        if not entries:
            yield where, res, ""  # an empty Bundle: reported as not imported, not dropped
            return
        for n, entry in enumerate(entries):
            inner = entry.get("resource") if isinstance(entry, dict) else None
            w = Where(where.file, where.line, n)
            if isinstance(inner, dict):
                yield w, inner, ""
            else:
                yield w, None, "bundle entry without a resource"
        return
    yield where, res, ""


def fhir_problem(res: Resource) -> str:
    """'' when `fhir.resources` parses the resource, else the first problems it names.

    The authority on what is valid; `read_fhir` asks it through `FastValidator`, which gives
    the same answer without running it on every resource of a known layout (`fastcheck`)."""
    from fhir.resources.R4B import get_fhir_model_class

    kind = res.get("resourceType")
    if not isinstance(kind, str):
        # A Bundle entry without one, or a type that is not a name (the model lookup would
        # raise TypeError on it): refused like any unreadable resource, never a crash.
        return "not a FHIR resource (resourceType missing or not a string)"
    try:
        model = get_fhir_model_class(kind)
    except (KeyError, ValueError):
        return f"unknown resource type {kind!r}"
    try:
        model.model_validate(res)
    except Exception as err:  # pydantic.ValidationError; the library may raise others too
        first = str(err).splitlines()[:3]
        return "not valid FHIR R4: " + " | ".join(first)
    return ""


# ----------------------------------------------------------------------------- mapping


def _label(res: Resource) -> str:
    return f"{res.get('resourceType')}/{res.get('id', '?')}"


def _profiles(res: Resource) -> set[str]:
    return set((res.get("meta") or {}).get("profile") or [])


@functools.cache
def _columns(file: str) -> tuple[str, ...]:
    """A registry file's column names (the dictionary's property builds them on each call)."""
    return tuple(FILES[file].column_names)


def registry_rows(res: Resource) -> list[tuple[str, dict[str, str]]]:
    """(file, row) of every `registry-row` extension of a resource, in order."""
    out: list[tuple[str, dict[str, str]]] = []
    wanted = c.REGISTRY_ROW
    for ext in res.get("extension") or []:
        if ext.get("url") != wanted:
            continue
        subs = ext.get("extension") or []
        file = None
        for s in subs:  # the first "file" sub-extension (a loop: a generator cost more)
            if s.get("url") == "file":
                file = s.get("valueCode")
                break
        if file not in FILES:
            raise ValueError(f"registry-row extension names unknown file {file!r}")
        row = dict.fromkeys(_columns(file), "")
        for s in subs:
            url = s.get("url")
            if url == "file":
                continue
            if url not in row:
                raise ValueError(f"registry-row for {file}: unknown column {url!r}")
            value = s.get("valueString", "")
            row[url] = value if value.__class__ is str else str(value)
        out.append((file, row))
    return out


def _codings(concept: Any) -> list[dict[str, Any]]:
    return list((concept or {}).get("coding") or []) if isinstance(concept, dict) else []


def _same_code(a: str, b: str) -> bool:
    """Two histologies the export codes alike (WHO 2022 subtypes sharing an ICD-O-3 code)."""
    hist = c.histologies()
    return a in hist and b in hist and hist[a].icdo3 == hist[b].icdo3 != ""


def _date(value: Any) -> str:
    return value[:10] if isinstance(value, str) else ""


def _side_of_condition(res: Resource) -> str:
    for site in res.get("bodySite") or []:
        for ext in site.get("extension") or []:
            if ext.get("url") == c.EXT_LATERALITY:
                for cd in _codings(ext.get("valueCodeableConcept")):
                    for side in ("left", "right"):
                        if cd.get("code") == c.snomed()[f"laterality_{side}"][0]:
                            return side
    for cd in _codings(res.get("code")):
        code = str(cd.get("code", ""))
        if cd.get("system") in (c.ICD10CM, c.ICD10):
            if code in ("C64.1", "D30.01"):
                return "right"
            if code in ("C64.2", "D30.02"):
                return "left"
    return ""


def _is_kidney_condition(res: Resource) -> bool:
    for cd in _codings(res.get("code")):
        code = str(cd.get("code", ""))
        if cd.get("system") in (c.ICD10CM, c.ICD10) and code.startswith(("C64", "D30.0")):
            return True
        if cd.get("system") == c.SNOMED and code == KIDNEY_SNOMED:
            return True
    return False


def _histology_of(res: Resource) -> tuple[str, str]:
    """(registry histology, problem): the ICD-O-3 code of the histology extension read as a
    WHO 2022 subtype; a code several subtypes share is a problem, not a guess."""
    for ext in res.get("extension") or []:
        if ext.get("url") == c.EXT_HISTOLOGY:
            for cd in _codings(ext.get("valueCodeableConcept")):
                names = c.histology_by_icdo3().get(str(cd.get("code")))
                if cd.get("system") != c.ICDO3 or names is None:
                    continue
                if len(names) > 1:
                    return "", (
                        f"ICD-O-3 {cd['code']} names several WHO 2022 subtypes "
                        f"({', '.join(names)}); the registry needs the subtype"
                    )
                return names[0], ""
    return "", ""


_AXIS = {
    c.snomed()["t_clinical"][0]: ("ct", T_CATEGORIES),
    c.snomed()["n_clinical"][0]: ("cn", N_CATEGORIES),
    c.snomed()["m_clinical"][0]: ("cm", M_CATEGORIES),
}


def _category_text(res: Resource) -> tuple[str, str]:
    """The AJCC category of a TNM Observation and its meaningful prefix (y, r, a, yr; "" for
    none): from its SNOMED CT code when it is one the registry holds
    (`registry/codes/tnm_snomed.csv`), else from its text or display ("ycT2" → T2, y)."""
    value = res.get("valueCodeableConcept") or {}
    for cd in _codings(value):
        key = (
            vocab.tnm_by_snomed().get(str(cd.get("code"))) if cd.get("system") == c.SNOMED else None
        )
        if key is not None and not key.startswith("stage"):
            return key[1:], ""
    texts = [value.get("text", "")] + [cd.get("display", "") for cd in _codings(value)]
    for text in texts:
        if not text:
            continue
        word = str(text).replace("American Joint Committee on Cancer", "").split("(")[0].strip()
        prefixed = _PREFIXED_CATEGORY.fullmatch(word)
        if prefixed is not None:
            meaning = tnm_meaning(prefixed["prefix"])
            if meaning is not None:
                return prefixed["category"], meaning
        return word, ""
    return "", ""


# A category written with its prefix letters: cT2, ycT2, rcN1, aT2.
_PREFIXED_CATEGORY = re.compile(r"(?P<prefix>[cpyra]{1,3})(?P<category>[TNM].*)")


class _Reader:
    def __init__(self) -> None:
        self.out = FhirReadResult()
        self.patient_of_ref: dict[str, str] = {}  # "Patient/x" -> registry patient id
        self.tumour_of_ref: dict[str, str] = {}  # "Condition/x" -> registry tumour id
        self.kidney_patients: set[str] = set()
        # Pass 2 resources, by their place in the input (`ordinal`): they are read again from
        # the files in pass 2 rather than held, so memory does not grow with the input.
        self.deferred = array("Q")
        self.ordinal = 0
        self.pending: list[tuple[str, Where, Resource, dict[str, str]]] = []
        self.touched = False
        # A TNM category without focus is linked to its condition through the stage group
        # that lists it in hasMember (as the mCODE examples do).
        self.focus_via_group: dict[str, list[str]] = {}
        # Performance status rows by (patient, date): ECOG and Karnofsky arrive separately.
        self.performance: dict[tuple[str, str], dict[str, str]] = {}

    def skip(self, where: Where, res: Resource, reason: str) -> None:
        self.out.skipped.append(Note(where, _label(res), reason))

    def error(self, where: Where, res: Resource | None, reason: str) -> None:
        self.out.errors.append(Note(where, _label(res) if res else "?", reason))

    def add(self, file: str, row: dict[str, str]) -> None:
        self.out.rows[file].append(row)
        self.touched = True

    def defer(self, res: Resource) -> None:
        """Leave `res` for pass 2, noting the stage-group membership pass 2 needs."""
        self.deferred.append(self.ordinal)
        focus = [f.get("reference", "") for f in res.get("focus") or []]
        for member in res.get("hasMember") or []:
            self.focus_via_group.setdefault(member.get("reference", ""), []).extend(focus)

    # Pass 1: Patients and Conditions (they give the ids everything else refers to).
    def first(self, where: Where, res: Resource) -> None:
        kind = res["resourceType"]
        if kind not in ("Patient", "Condition"):
            self.defer(res)
            return
        try:
            own = registry_rows(res)
        except ValueError as err:
            self.error(where, res, str(err))
            return
        secondary = coded_import.is_secondary(res)
        if kind == "Condition" and ((own and own[0][0] != "tumours") or (not own and secondary)):
            self.defer(res)  # a metastasis: read once patients are known
            return
        if kind == "Patient":
            self._patient(where, res, own)
        else:
            self._condition(where, res, own)

    def _patient(self, where: Where, res: Resource, own: list[tuple[str, dict[str, str]]]) -> None:
        ref = f"Patient/{res.get('id', '')}"
        if own:
            row = own[0][1]
            clash = [
                name
                for name, mine, theirs in (
                    ("gender", row["sex"], res.get("gender")),
                    ("birthDate", row["birth_date"], res.get("birthDate")),
                    (
                        "deceasedDateTime",
                        row["death_date"],
                        _date(res.get("deceasedDateTime")) or "",
                    ),
                )
                if (mine or None) != (theirs or None)
            ]
            if clash:
                self.error(where, res, f"registry-row disagrees with {', '.join(clash)}")
                return
            self.add("patients", row)
            self.patient_of_ref[ref] = row["patient_id"]
            self.kidney_patients.add(ref)
            return
        gender, birth = res.get("gender"), res.get("birthDate")
        if gender not in ("male", "female") or not isinstance(birth, str) or len(birth) != 10:
            self.error(
                where,
                res,
                "a patient needs gender male|female and a full birthDate "
                f"(got gender={gender!r}, birthDate={birth!r})",
            )
            return
        ids = [i.get("value") for i in res.get("identifier") or [] if i.get("value")]
        pid = str(ids[0]) if ids else str(res.get("id", ""))
        row = {col: "" for col in FILES["patients"].column_names}
        row.update(
            patient_id=pid,
            sex=gender,
            birth_date=birth,
            death_date=_date(res.get("deceasedDateTime")),
        )
        self.patient_of_ref[ref] = pid
        self.pending.append((ref, where, res, row))

    def _condition(
        self, where: Where, res: Resource, own: list[tuple[str, dict[str, str]]]
    ) -> None:
        ref = f"Condition/{res.get('id', '')}"
        subject = (res.get("subject") or {}).get("reference", "")
        if own:
            row = own[0][1]
            side = _side_of_condition(res)
            if side != row["side"] or _date(res.get("onsetDateTime")) != row["diagnosis_date"]:
                self.error(
                    where, res, "registry-row disagrees with bodySite laterality or onsetDateTime"
                )
                return
            found, _ = _histology_of(res)
            if found and found != row["histology"] and not _same_code(found, row["histology"]):
                self.error(where, res, "registry-row disagrees with the histology extension")
                return
            self.add("tumours", row)
            self.tumour_of_ref[ref] = row["tumour_id"]
            return
        if not _is_kidney_condition(res):
            codes = ", ".join(
                f"{cd.get('system', '?')}|{cd.get('code', '?')}" for cd in _codings(res.get("code"))
            )
            self.skip(
                where,
                res,
                f"not a kidney tumour (code {codes or 'none'}); "
                "the registry holds kidney tumours only",
            )
            return
        side, date = (
            _side_of_condition(res),
            _date(res.get("onsetDateTime") or res.get("recordedDate")),
        )
        if not side or not date:
            self.error(
                where,
                res,
                "kidney tumour without laterality (bodySite laterality or "
                "ICD-10-CM C64.1/C64.2) or without onsetDateTime/recordedDate",
            )
            return
        if subject not in self.patient_of_ref:
            self.error(where, res, f"subject {subject!r} is not a Patient in this set")
            return
        histology, problem = _histology_of(res)
        if problem:
            self.error(where, res, problem)
            return
        ids = [i.get("value") for i in res.get("identifier") or [] if i.get("value")]
        row = {col: "" for col in FILES["tumours"].column_names}
        row.update(
            tumour_id=str(ids[0]) if ids else str(res.get("id", "")),
            patient_id=self.patient_of_ref[subject],
            side=side,
            diagnosis_date=date,
            histology=histology,
        )
        self.add("tumours", row)
        self.tumour_of_ref[ref] = row["tumour_id"]
        self.kidney_patients.add(subject)

    def finish_patients(self) -> None:
        for ref, where, res, row in self.pending:
            if ref in self.kidney_patients:
                self.add("patients", row)
            else:
                self.skip(
                    where,
                    res,
                    "no kidney tumour Condition for this patient in the set; "
                    "the registry holds kidney cancer patients only",
                )
                self.patient_of_ref.pop(ref, None)

    # Pass 2: everything that refers to a patient or a tumour.
    def second(self, where: Where, res: Resource) -> None:
        try:
            own = registry_rows(res)
        except ValueError as err:
            self.error(where, res, str(err))
            return
        if own:
            for file, row in own:
                self.add(file, row)
            return
        kind = res["resourceType"]
        profiles = _profiles(res)
        subject = (res.get("subject") or res.get("patient") or {}).get("reference", "")
        if subject and subject not in self.patient_of_ref:
            self.skip(where, res, f"its patient ({subject}) was not imported")
            return
        ours = (res.get("meta") or {}).get("source") == f"{c.NS}/registry"
        if ours and kind == "Observation":
            self.skip(
                where,
                res,
                "derived by the renalpath export from a row carried by another resource "
                "(stage group, TNM category, pathological size, second performance score); "
                "not stored twice",
            )
        elif c.PROFILE["stage"] in profiles:
            self.skip(where, res, "stage group: derived from T, N and M (not stored)")
        elif kind == "BodyStructure" and c.PROFILE["tumor"] in profiles:
            self.skip(where, res, "Tumor body structure: the tumour is the Condition (not stored)")
        elif (
            (kind == "Observation" and self._clinical_tnm(where, res))
            or (kind == "Observation" and self._lab(where, res))
            or coded_import.read(self, where, res, profiles)
        ):
            return
        elif profiles & {c.PROFILE["t"], c.PROFILE["n"], c.PROFILE["m"]}:
            self.skip(
                where,
                res,
                "pathological or unfocused TNM category: the registry keeps pT/pN/pM "
                "with an operation's pathology, which this resource does not identify",
            )
        elif c.PROFILE["tumor_size"] in profiles:
            self.skip(
                where,
                res,
                "tumour size without a registry imaging or pathology row "
                "(study modality / operation not identified)",
            )
        else:
            what = ", ".join(sorted(p.rsplit("/", 1)[-1] for p in profiles)) or "no profile"
            self.skip(where, res, f"{kind} ({what}) is outside the registry's model")

    def _clinical_tnm(self, where: Where, res: Resource) -> bool:
        axis = next(
            (
                _AXIS[str(cd.get("code"))]
                for cd in _codings(res.get("code"))
                if cd.get("code") in _AXIS
            ),
            None,
        )
        if axis is None:
            return False
        column, allowed = axis
        focus = [f.get("reference", "") for f in res.get("focus") or []]
        focus += self.focus_via_group.get(f"Observation/{res.get('id', '')}", [])
        tumour = next((self.tumour_of_ref[f] for f in focus if f in self.tumour_of_ref), None)
        if tumour is None:
            self.skip(
                where,
                res,
                f"clinical TNM category of a condition not imported (focus {focus or 'none'})",
            )
            return True
        value, meaning = _category_text(res)
        if value not in allowed:
            self.error(
                where,
                res,
                f"{column}: {value!r} is not an AJCC 8 kidney category "
                f"(allowed: {', '.join(allowed)})",
            )
            return True
        row = next(r for r in self.out.rows["tumours"] if r["tumour_id"] == tumour)
        if row[column] and row[column] != value:
            self.error(
                where, res, f"{column}: {value!r} conflicts with {row[column]!r} already read"
            )
            return True
        if meaning and row["tnm_prefix"] not in ("", meaning):
            self.error(
                where,
                res,
                f"{column}: prefix {meaning!r} conflicts with {row['tnm_prefix']!r} already "
                "read (one classification, one prefix)",
            )
            return True
        row[column] = value
        if meaning:
            row["tnm_prefix"] = meaning
        self.touched = True
        return True

    def _lab(self, where: Where, res: Resource) -> bool:
        code = next(
            (
                c.lab_by_loinc()[cd["code"]]
                for cd in _codings(res.get("code"))
                if cd.get("system") == c.LOINC and cd.get("code") in c.lab_by_loinc()
            ),
            None,
        )
        if code is None:
            return False
        q = res.get("valueQuantity") or {}
        date = _date(res.get("effectiveDateTime"))
        unit = q.get("unit") or q.get("code")
        if not isinstance(q.get("value"), int | float) or not unit or not date:
            self.error(
                where,
                res,
                "laboratory result needs valueQuantity (value, unit) and effectiveDateTime",
            )
            return True
        subject = (res.get("subject") or {}).get("reference", "")
        row = {col: "" for col in FILES["labs"].column_names}
        row.update(
            patient_id=self.patient_of_ref[subject],
            date=date,
            test=code.test,
            value=repr(float(q["value"])),
            unit=str(unit),
            equation=code.equation,
        )
        self.add("labs", row)
        return True


def read_fhir(path: Path, *, parse: bool = True) -> FhirReadResult:
    """Read FHIR resources under `path` into registry rows (see module doc).

    The result is always the serial read's; `read_fhir_pending` gives it sooner."""
    if not parse:
        return _read(path, None)
    pending = read_fhir_pending(path)
    pending.confirm()
    return pending.result


def read_fhir_pending(path: Path) -> PendingRead:
    """Read `path`, leaving the validation's verdict to come (see `PendingRead`).

    Validation is most of the work. A large input is therefore read *optimistically* on two
    cores: a worker process validates every resource while this process maps every resource
    as if valid; pass 1 then need not even parse a line that cannot be a Patient, a
    Condition, a Bundle or a stage group (it is deferred to pass 2 either way). When the
    worker finds nothing to refuse, that mapping is exactly the serial one (every verdict was
    ''); when it does, or anything fails, the serial read is done instead, so refusals and
    their reports are always the serial ones. The worker's verdict is not awaited here: the
    caller can start the registry import on the mapped rows and ask `confirm()` just before
    it commits, so the registry import runs beside the worker's validation."""
    if _input_bytes(path) >= PARALLEL_MIN_BYTES and len(os.sched_getaffinity(0)) >= 2:
        pending = _start_on_two_cores(path)
        if pending is not None:
            return pending
    return PendingRead(_serial_read(path))


def _serial_read(path: Path) -> FhirReadResult:
    fast = FastValidator(fhir_problem).problem
    return _read(path, lambda res: fast(res))


class PendingRead:
    """A read whose rows are known and whose validation may still be running.

    `result` is the optimistic read (every resource mapped as if valid) until `confirm()`
    has the worker's verdict; if the worker refused something (or failed), `confirm()`
    replaces `result` with the serial read, whose errors say what is refused. Nothing may be
    committed from the rows of an unconfirmed read."""

    def __init__(
        self,
        result: FhirReadResult,
        path: Path | None = None,
        worker: BaseProcess | None = None,
        receive: Connection | None = None,
    ) -> None:
        self.result = result
        self._path = path
        self._worker = worker
        self._receive = receive
        self._stood: bool | None = True if worker is None else None

    @property
    def settled(self) -> bool:
        """Whether the verdict is known (`confirm()` will not wait)."""
        return self._stood is not None

    def confirm(self) -> bool:
        """Wait for the worker's verdict; True when `result` is the serial read's result
        (nothing refused), False when it has just been replaced by the serial read."""
        if self._stood is None:
            assert self._worker is not None and self._receive is not None
            try:
                refused = bool(self._receive.recv())
            except (EOFError, OSError):  # it died: the serial read will say why
                refused = True
            self._worker.join()
            self._receive.close()
            self._stood = not refused
            if refused:
                assert self._path is not None
                self.result = _serial_read(self._path)
        return self._stood


def _start_on_two_cores(path: Path) -> PendingRead | None:
    """The optimistic read (see `read_fhir_pending`), or None when something is to be
    refused (the worker is then stopped and gone)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    worker = context.Process(target=_worker, args=(path, send), daemon=True)
    try:
        worker.start()
    except (AssertionError, OSError):  # in a daemonic process, or no process to be had
        receive.close()
        send.close()
        return None
    send.close()
    said: list[bool] = []  # the worker's one message, once received: whether it refused

    def worker_refused() -> bool:
        if not said and receive.poll():
            try:
                said.append(bool(receive.recv()))
            except (EOFError, OSError):  # it died: the serial read will say why
                said.append(True)
        return bool(said) and said[0]

    try:
        optimistic: FhirReadResult | None = _read_optimistic(path, worker_refused)
    except Exception:  # a refusal (or a failure the serial read meets in its turn)
        optimistic = None
    if optimistic is None or (said and said[0]):
        worker.terminate()  # its work is no longer needed
        worker.join()
        receive.close()
        return None
    if said:  # it has answered already: nothing refused
        worker.join()
        receive.close()
        return PendingRead(optimistic)
    return PendingRead(optimistic, path, worker, receive)


def _input_bytes(path: Path) -> int:
    files = path.iterdir() if path.is_dir() else [path]
    return sum(f.stat().st_size for f in files if f.suffix in (".ndjson", ".json"))


def _worker_finds_refusal(path: Path, *, fast_json: bool = False) -> bool:
    """Whether any resource under `path` is refused or not even a resource (the worker's
    question: it validates every resource, the importing process none). With `fast_json`
    (texts decoded as the optimistic read decodes them, `_fast_loads`), a resource that is
    not plain (`FastValidator.check`) counts as a refusal: the serial read then decides."""
    fast = FastValidator(fhir_problem)
    for _, _, res, _problem in _numbered(path, _every_text, fast_json=fast_json):
        if res is None:
            return True
        why, plain = fast.check(res)
        if why or (fast_json and not plain):
            return True
    return False


def _every_text(_ordinal: int, _text: str) -> bool:
    return True


def _worker(path: Path, send: Any) -> None:
    """The worker process: sends whether its share holds a refusal (True on any failure)."""
    try:
        found = _worker_finds_refusal(path, fast_json=True)
    except BaseException:
        found = True
    send.send(found)
    send.close()


class _Refused(Exception):
    """The optimistic read met a resource the serial read refuses."""


def _read_optimistic(path: Path, stop: Callable[[], bool] = lambda: False) -> FhirReadResult:
    """`_read` with every verdict '' (the worker validates); raises `_Refused` on a text that
    is not a resource, or when `stop()` (asked now and then) says the worker found a
    refusal."""

    def ours(ordinal: int, res: Resource | None) -> str:
        if res is None or (ordinal % 4096 == 0 and stop()):
            raise _Refused
        return ""

    with collector_paused():
        return _read(path, None, check=ours, lazy=True, fast_json=True)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the duration (as it was before, after).

    A read keeps every row and note it makes (millions of small objects, none in a cycle:
    they are freed by reference counting alone), and each collection of the oldest
    generation walks all of them again: ≈ 7 % of the importing process at 20,000 patients,
    for nothing. Only the optimistic read pauses it: its worker validates with pydantic,
    whose refusals may leave cycles, in a process of its own (forked before the pause)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _read(
    path: Path,
    verdict: Callable[[Resource], str] | None,
    *,
    check: Callable[[int, Resource | None], str] | None = None,
    lazy: bool = False,
    fast_json: bool = False,
) -> FhirReadResult:
    """The two passes. `verdict(resource)`: '' or why FHIR refuses it (None: not validated).
    `check` and `lazy`: the optimistic read (see `read_fhir`): `check(ordinal, resource)` is
    asked about every resource parsed, in both passes, and pass 1 leaves unparsed the lines
    that cannot matter to it."""
    reader = _Reader()
    out = reader.out

    def accounted(step: Any, where: Where, res: Resource) -> None:
        # Every resource ends mapped, skipped or in error: never silently dropped.
        before = (len(out.skipped), len(out.errors), len(reader.deferred), len(reader.pending))
        reader.touched = False
        step(where, res)
        if reader.touched:
            out.mapped += 1
        elif before == (
            len(out.skipped),
            len(out.errors),
            len(reader.deferred),
            len(reader.pending),
        ):
            reader.error(where, res, "internal: resource neither mapped nor reported")

    def pass_1_parses(_ordinal: int, text: str) -> bool:
        # Pass 1 must parse a Patient, a Condition or a stage group's members (`_Reader.first`);
        # everything else is only deferred to pass 2. (Spelled out: a generator cost more.)
        return not lazy or '"Patient"' in text or '"Condition"' in text or '"hasMember"' in text

    for ordinal, where, res, problem in _numbered(path, pass_1_parses, fast_json=fast_json):
        out.resources += 1
        reader.ordinal = ordinal
        if res is UNREAD:
            # One resource, not a Patient, Condition or Bundle, without hasMember: `first`
            # would only defer it.
            reader.deferred.append(ordinal)
            continue
        if check is not None:
            check(ordinal, res)
        if res is None:
            reader.error(where, None, problem)
            continue
        why = verdict(res) if verdict is not None else ""
        if why:
            reader.error(where, res, why)
            continue
        accounted(reader.first, where, res)
    reader.finish_patients()
    out.mapped += sum(1 for ref, *_ in reader.pending if ref in reader.kidney_patients)
    # Pass 2 reads the files again, one resource at a time, parsing only the deferred ones
    # (already parsed and validated in pass 1, unless optimistic), in the same order.
    wanted = iter(reader.deferred)
    # The next deferred ordinal; `_numbered` reads it when it reaches the next text.
    next_wanted: list[int | None] = [next(wanted, None)]
    for ordinal, where, res, _ in _numbered(
        path, lambda o, _text: o == next_wanted[0], fast_json=fast_json
    ):
        if next_wanted[0] is None:
            break
        if ordinal != next_wanted[0]:
            continue
        next_wanted[0] = next(wanted, None)
        if check is not None:
            check(ordinal, res)
        if res is None or res is UNREAD:
            continue
        accounted(reader.second, where, res)
    coded_import.finish(reader)
    return out


def write_folder(result: FhirReadResult, folder: Path) -> None:
    """The rows as a registry folder (the CSV importer's input)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, spec in FILES.items():
        columns = list(spec.column_names)
        wanted = set(columns)
        rows = result.rows[name]
        with (folder / spec.filename).open("w", encoding="utf-8", newline="") as handle:
            if len(columns) > 1 and all(row.keys() == wanted for row in rows):
                # Every row has exactly the file's columns: the plain writer gives
                # DictWriter's very lines, without its per-row work in Python.
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(columns)
                writer.writerows(map(operator.itemgetter(*columns), rows))
                continue
            dict_writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
            dict_writer.writeheader()
            dict_writer.writerows(rows)


__all__ = [
    "FhirReadResult",
    "PendingRead",
    "by_reason",
    "read_fhir",
    "read_fhir_pending",
    "resource_id",
    "write_folder",
]
