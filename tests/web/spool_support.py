"""A stand-in for `import_child.run_import` that says where it ran and what it was given
(module level, so the import process can unpickle it)."""

from __future__ import annotations

import os
from pathlib import Path

from renalpath.web.import_child import ImportOutcome, ImportRequest


def where_and_what(req: ImportRequest) -> ImportOutcome:
    """Refuse with "pid|zip present|sorted file names of the unpacked folder"."""
    names = ",".join(sorted(p.name for p in Path(req.folder).iterdir()))
    zip_there = Path(req.zip_path).exists()
    return ImportOutcome(os.getpid(), refusal=f"{os.getpid()}|{zip_there}|{names}", status=422)
