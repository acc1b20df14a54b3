"""The part of a web import that runs in the import process (`offload`, kind "import").

It gets the path of the zip the server spooled to disk (`upload_zip` unpacks and checks it
here, with the server's limits), builds its own engine from the database URL and runs
`import_folder`.  What goes back to the parent must pickle and stay small, so
the report is capped here (`capped_report`), before it crosses the process boundary; an
expected refusal (a correction the folder would undo) comes back as a value with its status,
and anything else as the text of its trace (some exceptions do not pickle).
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from renalpath.registry.audit import RevertConflict
from renalpath.registry.db import make_engine
from renalpath.registry.importer import ImportResult, import_folder
from renalpath.registry.validate import Group
from renalpath.web import offload
from renalpath.web.upload_zip import UploadRefused, ZipLimits, unpack


@dataclass
class ImportRequest:
    """What the child needs to run one import (all of it pickles)."""

    db_url: str
    folder: str  # the unpacked registry folder ("" until `unpack_then` has unpacked the zip)
    actor: str
    reason: str
    dry_run: bool
    update: bool
    max_issues: int  # the report cap of the parent (imports.REPORT_MAX_ISSUES)
    token: str | None = None  # the job id the child reports its stages under
    zip_path: str = ""  # the upload as the server spooled it (in a folder of its own)
    limits: ZipLimits | None = None  # the server's limits for unpacking it


@dataclass
class ImportOutcome:
    """The child's answer: a result with its capped report, a refusal, or a failure."""

    pid: int
    result: ImportResult | None = None
    report: dict[str, Any] | None = None
    groups: list[Group] = field(default_factory=list)
    refusal: str | None = None
    status: int = 200
    failure: str | None = None  # the trace of an unexpected error, for the server log


def capped_report(result: ImportResult, max_issues: int) -> dict[str, Any]:
    """The import's answer with at most `max_issues` issues, plus counts of all of them.

    `issues_total` and `issue_counts` (file → reason → count) say what was left out.
    """
    doc = result.to_dict()
    shown = 0
    for key in ("errors", "warnings"):
        listed = doc.get(key)
        if isinstance(listed, list):
            kept = listed[: max(0, max_issues - shown)]
            doc[key] = kept
            shown += len(kept)
    counts: dict[str, dict[str, int]] = {}
    for issue in result.report.issues:
        per_file = counts.setdefault(issue.file, {})
        per_file[issue.reason] = per_file.get(issue.reason, 0) + 1
    doc["issues_total"] = len(result.report.issues)
    doc["issues_shown"] = shown
    doc["issue_counts"] = counts
    return doc


def outcome_of(result: ImportResult, max_issues: int) -> ImportOutcome:
    """Keep only the capped report: finished jobs stay in memory for a while."""
    report = capped_report(result, max_issues)
    groups = result.report.groups()[:max_issues]
    result.report.issues = result.report.issues[:max_issues]
    return ImportOutcome(os.getpid(), result, report, groups)


def unpack_then(
    importer: Callable[[ImportRequest], ImportOutcome], request: ImportRequest
) -> ImportOutcome:
    """Unpack and check the spooled zip next to it, then `importer` on the folder.

    In the import process (the server's event loop and interpreter lock never see the zip's
    bytes); a refused zip is an expected answer, with its status.  `importer` is passed in
    rather than named here so that the server decides which function runs (tests put
    stand-ins there).
    """
    assert request.limits is not None, "the server sends its zip limits"
    offload.report(request.token, "unpacking")
    dest = Path(request.zip_path).parent / "unpacked"
    try:
        dest.mkdir()
        folder = unpack(Path(request.zip_path), dest, request.limits)
    except UploadRefused as err:
        return ImportOutcome(os.getpid(), refusal=str(err), status=err.status)
    return importer(replace(request, folder=str(folder)))


def run_import(request: ImportRequest) -> ImportOutcome:
    """In the import process: import the unpacked folder into the database of the URL."""
    offload.report(request.token, "checking and writing")
    engine = make_engine(request.db_url)
    try:
        result = import_folder(
            engine,
            Path(request.folder),
            actor=request.actor,
            reason=request.reason,
            dry_run=request.dry_run,
            update=request.update,
            on_start=lambda rows: offload.report(request.token, f"writing {rows:,} rows"),
        )
        return outcome_of(result, request.max_issues)
    except RevertConflict as err:  # the folder would undo a correction: nothing written
        return ImportOutcome(os.getpid(), refusal=str(err), status=409)
    except Exception:  # a bug: its trace goes to the parent's log, the job says so
        return ImportOutcome(os.getpid(), failure=traceback.format_exc(), status=500)
    finally:
        engine.dispose()
