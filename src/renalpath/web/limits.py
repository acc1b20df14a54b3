"""Bounded request bodies, checked before any route parses them.

`BodyLimitMiddleware` is pure ASGI so it sees the body as it arrives: a declared
`Content-Length` over the route's limit is refused with 413 before a byte is read, and a body
without one (chunked) is counted while it streams, so a client cannot make the server buffer
more than the limit either way.  Uploads (the registry import) get a larger limit than
everything else, which is small JSON or form data.

JSON bodies are then screened once, before FastAPI or the pathway parse them:

* nesting deeper than `MAX_JSON_DEPTH` is refused (a deeply nested body made the recursive
  validators and the error encoder raise RecursionError, a 500);
* a string holding a lone UTF-16 surrogate (`"\\ud800"`) is refused: it is valid JSON but not
  text, and could not be stored, logged or echoed back without an encoding error; so is a
  body that is not UTF-8 (the JSON standard's encoding for data exchanged between systems),
  which also covers surrogates written as raw bytes.

Both answer 422 in the API's error shape, naming the problem (a body that is not UTF-8: 400).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_JSON_DEPTH = 32  # a case is 3 levels deep; generous for any client, far below recursion

# Strings first (their brackets do not count), then the structural brackets.
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes its limit (the app answers 413).

    An HTTPException so FastAPI's body reader passes it through instead of calling it a
    parse error, and the app's one HTTP error handler gives it the usual shape.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large_message(limit))


def too_large_message(limit: int) -> str:
    return f"request body too large (allowed: at most {limit} bytes for this route)"


def json_problem(raw: bytes) -> tuple[int, str] | None:
    """(status, why) this JSON body is refused before parsing, or None.

    Works on the raw bytes (no parse), so it stays linear and cannot recurse; malformed JSON
    is left for the real parser to report.
    """
    try:
        raw.decode("utf-8")  # strict: Python's JSON reader would let encoded surrogates through
    except UnicodeDecodeError as err:
        try:  # UTF-8 but for an encoded lone surrogate: text that is not text, as below
            raw.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            # 400 and FastAPI's own words, as for any body its JSON reader cannot decode
            where = f"not UTF-8 text (invalid bytes at offset {err.start})"
            return 400, f"There was an error parsing the body: {where}"
        return 422, "a string holds a lone UTF-16 surrogate (\\ud800–\\udfff), not text"
    depth = 0
    for match in _JSON_TOKEN.finditer(raw):
        token = match.group()
        first = token[:1]
        if first == b'"':
            if b"\\u" in token and _SURROGATE_ESCAPE.search(token) and _has_lone_surrogate(token):
                return 422, "a string holds a lone UTF-16 surrogate (\\ud800–\\udfff), not text"
        elif first in (b"[", b"{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return 422, f"JSON nested too deeply (allowed: at most {MAX_JSON_DEPTH} levels)"
        else:
            depth -= 1
    return None


def _has_lone_surrogate(token: bytes) -> bool:
    try:
        text = json.loads(token)
    except ValueError:
        return False  # the real parser reports it
    return isinstance(text, str) and has_surrogate(text)


def has_surrogate(text: str) -> bool:
    """True when `text` holds a code point that UTF-8 cannot encode (a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _is_json(headers: list[tuple[bytes, bytes]]) -> bool:
    for key, value in headers:
        if key.lower() == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
            return kind == b"application/json" or (
                kind.startswith(b"application/") and kind.endswith(b"+json")
            )
    return False


def _declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for key, value in headers:
        if key.lower() == b"content-length":
            return int(value) if value.strip().isdigit() else None
    return None


UPLOAD_PATHS = ("/import", "/api/v1/import")  # the routes that take a file (a registry zip)


@dataclass(frozen=True)
class BodyLimits:
    default_bytes: int = 1024 * 1024
    upload_bytes: int = 51 * 1024 * 1024
    upload_paths: tuple[str, ...] = UPLOAD_PATHS

    def for_path(self, path: str) -> int:
        return self.upload_bytes if path in self.upload_paths else self.default_bytes


async def _refuse(send: Send, status: int, message: str) -> None:
    payload = json.dumps({"errors": [{"field": None, "message": message}]}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodyLimitMiddleware:
    """Refuse oversized bodies (413) and unsafe JSON (422) before the app reads them."""

    def __init__(self, app: ASGIApp, limits: BodyLimits | None = None) -> None:
        self.app = app
        self.limits = limits or BodyLimits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_path(scope.get("path", ""))
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers", []))
        declared = _declared_length(headers)
        if declared is not None and declared > limit:
            await _refuse(send, 413, too_large_message(limit))
            return
        if _is_json(headers):
            await self._json(scope, receive, send, limit)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)

    async def _json(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Read the whole (small) JSON body, screen it, then replay it to the app."""
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _refuse(send, 413, too_large_message(limit))
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        raw = b"".join(chunks)
        problem = json_problem(raw)
        if problem is not None:
            await _refuse(send, *problem)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()  # after the body: wait for the disconnect as usual

        await self.app(scope, replay, send)
