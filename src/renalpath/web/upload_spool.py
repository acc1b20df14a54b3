"""A multipart upload streamed to a private temporary file, never held whole in memory.

Starlette's `request.form()` parses the body on the event loop and keeps a file part in memory
up to 1 MiB before it spools; the import then read the whole zip back into memory.  Here the
event loop only collects the body's chunks as they arrive (up to `BATCH_BYTES` at a time) and
hands each batch to a worker thread, which runs the multipart parser and writes the file part
to disk.  The file is counted while it streams: past its limit the reading stops and the
caller answers 413, without reading the rest of the body.  The small text fields (the reason,
the CSRF token, the choices) are kept in memory, bounded too.

`form_of` reads the form once per request (the CSRF check and the route both ask for it) and
`SpoolCleanup`, a middleware, removes its folder when the request ends, whatever its answer
(a refused CSRF token, a role not allowed, a refused zip), unless a job took it over
(`SpooledForm.take`), which then removes it when it ends.  On a refusal while streaming, and
when the client goes away mid-upload, the folder is removed before the exception leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO, Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from renalpath.errors import Refusal
from renalpath.web.workers import in_upload_pool

BATCH_BYTES = 1024 * 1024  # body collected on the loop before a hand-off to the thread
MAX_FIELDS_BYTES = 64 * 1024  # all text fields together (a reason, a token, a few flags)
MAX_PARTS = 32


class FormRefused(Refusal, ValueError):
    """The form cannot be taken: malformed, too many parts, or a file over its limit."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status
        self.fields: dict[str, str] = {}  # the text fields read before the refusal


class FileTooLarge(FormRefused):
    def __init__(self, name: str, limit: int) -> None:
        super().__init__(f"{name}: file larger than {limit} bytes", 413)
        self.limit = limit


@dataclass(frozen=True)
class SpooledFile:
    path: Path
    filename: str
    size: int


@dataclass
class SpooledForm:
    """The text fields, and each file part as a file in `folder` (removed by `cleanup`)."""

    folder: Path
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, SpooledFile] = field(default_factory=dict)

    taken: bool = False  # a job owns the folder now (it outlives the request)

    def take(self) -> SpooledForm:
        self.taken = True
        return self

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def is_multipart(request: Request) -> bool:
    kind, _ = parse_options_header(request.headers.get("content-type", ""))
    return kind == b"multipart/form-data"


class _Sink:
    """The multipart parser and the files it writes; used from one worker thread at a time."""

    def __init__(self, boundary: bytes, folder: Path, file_limit: int) -> None:
        self.form = SpooledForm(folder)
        self.file_limit = file_limit
        self.fields_bytes = 0
        self.parts = 0
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._name = ""
        self._filename: str | None = None
        self._out: IO[bytes] | None = None
        self._size = 0
        self._value = bytearray()
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise FormRefused(f"more than {MAX_PARTS} parts in the form")
        self._headers = {}
        self._name, self._filename, self._size = "", None, 0
        self._value = bytearray()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[bytes(self._header_field).lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = options.get(b"name", b"").decode("latin-1")
        filename = options.get(b"filename")
        if filename is not None:
            self._filename = filename.decode("utf-8", "replace")
            path = self.form.folder / f"part-{self.parts}"
            self._out = path.open("xb")
            self.form.files[self._name] = SpooledFile(path, self._filename, 0)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._out is not None:
            self._size += end - start
            if self._size > self.file_limit:
                raise FileTooLarge(self._name or "file", self.file_limit)
            self._out.write(data[start:end])
        else:
            self.fields_bytes += end - start
            if self.fields_bytes > MAX_FIELDS_BYTES:
                raise FormRefused(f"the form's text fields are over {MAX_FIELDS_BYTES} bytes")
            self._value += data[start:end]

    def _part_end(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
            spooled = self.form.files[self._name]
            self.form.files[self._name] = SpooledFile(spooled.path, spooled.filename, self._size)
        else:
            self.form.fields[self._name] = self._value.decode("utf-8", "replace")

    def feed(self, batch: list[bytes]) -> None:
        try:
            for chunk in batch:
                self.parser.write(chunk)
        except MultipartParseError as err:
            raise FormRefused(f"not a readable multipart form ({err})") from err

    def finish(self, batch: list[bytes]) -> SpooledForm:
        self.feed(batch)
        self.parser.finalize()
        if self._out is not None:  # the body ended inside a file part
            raise FormRefused("the upload ended before its last part")
        return self.form

    def close(self) -> None:
        if self._out is not None:
            with contextlib.suppress(OSError):
                self._out.close()


async def spool_form(request: Request, file_limit: int) -> SpooledForm:
    """Stream a multipart body: text fields in memory, each file part into a private folder.

    Raises `FileTooLarge` (413) as soon as a file part passes `file_limit` bytes and
    `FormRefused` (422) for a malformed body; the folder is gone when either leaves, and the
    refusal carries the text fields read before it (`fields`: the CSRF token comes first).
    """
    _, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if not boundary:
        raise FormRefused("a multipart form without a boundary")
    folder = Path(tempfile.mkdtemp(prefix="renalpath-upload-"))  # mode 0700: ours only
    sink = _Sink(boundary, folder, file_limit)
    try:
        batch: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            if chunk:
                batch.append(chunk)
                size += len(chunk)
            if size >= BATCH_BYTES:
                await in_upload_pool(partial(sink.feed, batch))
                batch, size = [], 0
        return await in_upload_pool(partial(sink.finish, batch))
    except FormRefused as err:
        err.fields = dict(sink.form.fields)
        _discard(sink, folder)
        raise
    except BaseException:  # disconnected, cancelled, a bug: nothing is left behind
        _discard(sink, folder)
        raise


def _discard(sink: _Sink, folder: Path) -> None:
    sink.close()
    shutil.rmtree(folder, ignore_errors=True)


_SCOPE_KEY = "renalpath.spooled_form"


async def form_of(request: Request, file_limit: int) -> SpooledForm:
    """The request's multipart form, spooled on first use (the CSRF check, then the route).

    A refusal is kept too, so the second caller gets the same answer without reading again.
    """
    cached = request.scope.get(_SCOPE_KEY)
    if isinstance(cached, FormRefused):
        raise cached
    if isinstance(cached, SpooledForm):
        return cached
    try:
        form = await spool_form(request, file_limit)
    except FormRefused as err:
        request.scope[_SCOPE_KEY] = err
        raise
    request.scope[_SCOPE_KEY] = form
    return form


Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


class SpoolCleanup:
    """Remove a request's spooled upload when the request ends, unless a job took it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            form = scope.get(_SCOPE_KEY)
            if isinstance(form, SpooledForm) and not form.taken:
                await asyncio.to_thread(form.cleanup)
