"""Pieces of the streamed folder import: chunk parsing, whole-file duplicate keys, rewrites.

The importer reads each file in chunks (`reader.read_source_chunks`) so that peak memory does
not grow with the folder: a million-patient folder's strings never sit in memory at once.
What a chunk cannot see on its own is kept here in compact form for the whole file:

- spelling rewrites (one warning per written spelling, with its row count and first lines)
  are merged across chunks into the single entry a whole-file read gives;
- duplicate keys are found over the whole file from a 64-bit hash of each row's typed key
  (8 bytes + a line number per row), and only rows whose hash repeats are read again and
  compared exactly, so the report names the same rows ("duplicate of line N") as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from renalpath.registry.dictionary import FILES, FileSpec
from renalpath.registry.normalise import FileContext, ReadOptions
from renalpath.registry.reader import LINE, Source, read_source_chunks
from renalpath.registry.validate import Issue, Report, _duplicates, parse_frames

_RewriteKey = tuple[str, str | None, str | None, str]


@dataclass
class ChunkMerger:
    """Adds each chunk's issues to the folder report; a rewrite warning that an earlier chunk
    of the same file already reported is folded into that entry (count and first lines)."""

    report: Report
    rewrites: dict[_RewriteKey, list[int]] = field(default_factory=dict)  # → issue indexes

    def parse(self, name: str, raw: pd.DataFrame, ctx: FileContext) -> pd.DataFrame:
        chunk = Report(labels=self.report.labels, failed=self.report.failed)
        typed = parse_frames({name: raw}, chunk, {name: ctx})[name]
        self.add(chunk.issues)
        return typed

    def add(self, issues: list[Issue]) -> None:
        # Two rules may rewrite the same spelling to the same cell (a unit spelt 'mg/dl' on
        # two kinds of test): a whole-file read gives one entry per rule, in rule order, so the
        # n-th entry of a key in this chunk is folded into the n-th entry of earlier chunks.
        seen: dict[_RewriteKey, int] = {}
        for issue in issues:
            if not issue.lines:  # not a rewrite: one issue per row, kept as is
                self.report.issues.append(issue)
                continue
            key = (issue.file, issue.column, issue.value, issue.reason)
            nth = seen.get(key, 0)
            seen[key] = nth + 1
            entries = self.rewrites.setdefault(key, [])
            if nth >= len(entries):
                entries.append(len(self.report.issues))
                self.report.issues.append(issue)
                continue
            at = entries[nth]
            old = self.report.issues[at]
            lines = (*old.lines, *issue.lines)[:5]
            rows = old.rows + issue.rows
            self.report.issues[at] = Issue(
                old.severity, old.file, old.line, old.column, old.value, old.reason, rows, lines
            )


class DuplicateKeys:
    """Duplicate natural keys of one file, over all its chunks (see the module doc).

    The key hashes seen so far are kept sorted (with their lines), so each chunk is checked
    against every earlier one before it is written: a repeated hash means a probable
    duplicate, and the importer then writes nothing more (the table's unique key would refuse
    the row anyway). `check` then compares the suspects exactly; a repeat that was only a
    hash collision is `collided` (the importer starts again with another `hash_key`)."""

    def __init__(self, spec: FileSpec, hash_key: str) -> None:
        self.spec = spec
        self.hash_key = hash_key
        self.key = [k for k in spec.key if k != "seq"]
        self.required = [k for k in self.key if spec.column(k).required]
        self.hashes = np.empty(0, dtype=np.uint64)
        self.lines = np.empty(0, dtype=np.int64)
        self.repeated = False
        self.collided = False

    @property
    def active(self) -> bool:
        return self.spec.name != "complications"  # ordinal key: repeats are distinct rows

    def add(self, typed: pd.DataFrame) -> bool:
        """Take a chunk's keys; True when one of them repeats an earlier key's hash."""
        if not self.active or typed.empty:
            return False
        # Rows whose required key cell failed to parse are already reported: not duplicates.
        parsed = typed[self.required].notna().all(axis=1).to_numpy()
        hashed = pd.util.hash_pandas_object(typed[self.key], index=False, hash_key=self.hash_key)
        h = hashed.to_numpy()[parsed]
        lines = typed[LINE].to_numpy(dtype=np.int64)[parsed]
        order = np.argsort(h, kind="stable")
        h, lines = h[order], lines[order]
        pos = np.searchsorted(self.hashes, h)
        near = self.hashes[np.minimum(pos, len(self.hashes) - 1)] if len(self.hashes) else h + 1
        if (near == h).any() or (h[1:] == h[:-1]).any():
            self.repeated = True
        self.hashes = np.insert(self.hashes, pos, h)
        self.lines = np.insert(self.lines, pos, lines)
        return self.repeated

    def suspects(self) -> np.ndarray:
        """Lines whose key hash occurs more than once in the file (usually none)."""
        if not self.repeated:
            return np.empty(0, dtype=np.int64)
        same = self.hashes[1:] == self.hashes[:-1]
        mark = np.zeros(len(self.hashes), dtype=bool)
        mark[1:] |= same
        mark[:-1] |= same
        lines: np.ndarray = self.lines[mark]
        return lines

    def check(
        self, src: Source, ctx: FileContext, options: ReadOptions, rows: int, report: Report
    ) -> None:
        """Report the duplicates exactly: the suspect rows are read again (a scratch report
        for everything else) and compared by their typed keys, as a whole-file read does."""
        suspects = self.suspects()
        self.hashes, self.lines = self.hashes[:0], self.lines[:0]
        if not len(suspects):
            return
        before = len(report.errors)
        picked: list[pd.DataFrame] = []
        for raw in _reread(src, options, rows):
            rows_of = raw[raw[LINE].isin(suspects)]
            if len(rows_of):
                scratch = Report(labels=report.labels)
                picked.append(
                    parse_frames({self.spec.name: rows_of}, scratch, {self.spec.name: ctx})[
                        self.spec.name
                    ]
                )
        if picked:
            _duplicates(self.spec, pd.concat(picked), report)
        self.collided = len(report.errors) == before


def _reread(src: Source, options: ReadOptions, rows: int) -> Iterator[pd.DataFrame]:
    got = read_source_chunks(src, _Silent(), options, rows)
    if got is not None:
        yield from got[0]


class _Silent(Report):
    """A report whose issues are dropped (second reads report nothing new)."""

    def add(self, *args: object, **kwargs: object) -> None:
        pass


def failure_events(src: Source, options: ReadOptions, rows: int) -> pd.DataFrame | None:
    """The events a salvage lineage needs, read ahead of the interventions (typed, all types:
    the lineage filters them); issues are reported by the main pass, not here."""
    got = read_source_chunks(src, _Silent(), options, rows)
    if got is None:
        return None
    chunks, ctx = got
    cols = ["patient_id", "tumour_id", "date", "type"]
    parts = [
        parse_frames({"events": raw}, _Silent(), {"events": ctx})["events"][cols] for raw in chunks
    ]
    return pd.concat(parts, ignore_index=True) if parts else None


__all__ = ["FILES", "ChunkMerger", "DuplicateKeys", "failure_events"]
