"""Import jobs of one server process: what the import page polls while an import runs.

A job lives in the server process that started it (kept for the last `KEEP` jobs; the import
itself runs in a child process, which reports its stages back: `offload`) and is visible to
the user who started it and to admins.  With several worker processes a job's page may reach
another worker, which answers 404; the import itself is unaffected and its result is in the
registry and the audit trail.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException

if TYPE_CHECKING:
    from renalpath.registry.importer import ImportResult
    from renalpath.web.auth import Principal

KEEP = 50


@dataclass
class ImportJob:
    id: str
    owner: int
    started: float = field(default_factory=time.monotonic)
    stage: str = "waiting for the import slot"
    done: asyncio.Event = field(default_factory=asyncio.Event)
    result: ImportResult | None = None
    report: dict[str, Any] | None = None  # the capped report (import_child.capped_report)
    groups: list[Any] = field(default_factory=list)  # the report's issues grouped by cause
    refusal: str | None = None
    status: int = 200
    pid: int | None = None  # the process that imports (a child of the server's, `offload`)
    task: asyncio.Task[None] | None = None

    def elapsed_s(self) -> float:
        return round(time.monotonic() - self.started, 1)


def _jobs(app: FastAPI) -> dict[str, ImportJob]:
    jobs: dict[str, ImportJob] | None = getattr(app.state, "import_jobs", None)
    if jobs is None:
        jobs = {}
        app.state.import_jobs = jobs
    return jobs


def create(app: FastAPI, owner: int) -> ImportJob:
    jobs = _jobs(app)
    finished = [k for k, j in jobs.items() if j.done.is_set()]
    for key in finished[: max(0, len(jobs) - KEEP + 1)]:  # oldest finished first (dict order)
        del jobs[key]
    job = ImportJob(id=secrets.token_urlsafe(12), owner=owner)
    jobs[job.id] = job
    return job


def owned(app: FastAPI, job_id: str, principal: Principal) -> ImportJob:
    job = _jobs(app).get(job_id)
    if job is None or (job.owner != principal.user_id and principal.role != "admin"):
        raise HTTPException(404, "no such import job (or it ran on another server process)")
    return job
