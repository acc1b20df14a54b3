"""Uploads stream to a private file (never whole in memory), bounded while they stream, and
the file is gone afterwards; the zip is unpacked in the import process, not the server."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from renalpath.web import import_child, upload_spool

from . import spool_support
from .conftest import bearer, login
from .registry_support import zip_folder

PREFIX = "renalpath-upload-"


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where this process makes its temporary folders during the test (to find leftovers)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _left(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(PREFIX)]


def _multipart(fields: dict[str, str], file: bytes, name: str = "x.zip") -> tuple[bytes, str]:
    """Body and content type as httpx encodes them (an encoder independent of ours)."""
    req = httpx.Request("POST", "http://t/", data=fields, files={"file": (name, file)})
    return req.read(), req.headers["content-type"]


def _request(body: bytes, ctype: str, chunk: int, sent: list[int]) -> Request:
    """A request whose body arrives in `chunk`-byte pieces; `sent` counts the pieces read."""
    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)]

    async def receive() -> dict[str, Any]:
        i = sent[0]
        sent[0] += 1
        return {"type": "http.request", "body": pieces[i], "more_body": i + 1 < len(pieces)}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/import",
        "headers": [(b"content-type", ctype.encode())],
        "query_string": b"",
    }
    return Request(scope, receive)


@pytest.mark.parametrize("chunk", [7, 1000, 65536])
def test_fields_and_file_come_through_whatever_the_chunking(spool_dir: Path, chunk: int) -> None:
    payload = os.urandom(150_000) + b"\r\n--not-the-boundary\r\n" + os.urandom(1000)
    fields = {"csrf_token": "t0k", "reason": "monthly update é", "dry_run": "true"}
    body, ctype = _multipart(fields, payload, "reg.zip")
    sent = [0]
    form = asyncio.run(upload_spool.spool_form(_request(body, ctype, chunk, sent), 10**6))
    try:
        assert form.fields == fields
        spooled = form.files["file"]
        assert spooled.filename == "reg.zip" and spooled.size == len(payload)
        assert spooled.path.read_bytes() == payload
        assert spooled.path.parent.parent == spool_dir  # a private folder of its own
        assert (spooled.path.parent.stat().st_mode & 0o777) == 0o700
    finally:
        form.cleanup()
    assert _left(spool_dir) == []


def test_a_file_over_the_limit_stops_the_reading_and_leaves_nothing(spool_dir: Path) -> None:
    body, ctype = _multipart({"csrf_token": "t0k"}, b"z" * 5_000_000)
    chunk, sent = 65536, [0]
    with pytest.raises(upload_spool.FileTooLarge) as refused:
        asyncio.run(upload_spool.spool_form(_request(body, ctype, chunk, sent), 100_000))
    assert refused.value.status == 413
    assert refused.value.fields == {"csrf_token": "t0k"}  # read before the file: still known
    # refused within one batch past the limit, not after reading the whole 5 MB body
    total = -(-len(body) // chunk)
    assert sent[0] * chunk <= 100_000 + upload_spool.BATCH_BYTES + chunk < total * chunk
    assert _left(spool_dir) == []


def test_a_malformed_form_is_refused_and_leaves_nothing(spool_dir: Path) -> None:
    body, ctype = _multipart({"reason": "r"}, b"abc")
    broken = body.replace(b"Content-Disposition", b"Content Disposition", 1)
    with pytest.raises(upload_spool.FormRefused) as refused:
        asyncio.run(upload_spool.spool_form(_request(broken, ctype, 1000, [0]), 10**6))
    assert refused.value.status == 422
    assert _left(spool_dir) == []


# ---------------------------------------------------------------------------- through the app


@pytest.fixture(scope="module")
def small_zip(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from renalpath.synth.writer import write_registry

    out = tmp_path_factory.mktemp("synth-spool") / "csv"
    write_registry(out, 5, 17)
    return zip_folder(out, "reg/")


def test_an_upload_over_the_limit_is_413_and_its_spool_is_removed(
    empty_client: TestClient, spool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = empty_client.app.state  # type: ignore[attr-defined]
    monkeypatch.setattr(
        state, "settings", dataclasses.replace(state.settings, max_upload_bytes=1000)
    )
    resp = empty_client.post(
        "/api/v1/import", files={"file": ("x.zip", b"0" * 1001)}, headers=bearer("cleo")
    )
    assert resp.status_code == 413 and "too large" in resp.json()["errors"][0]["message"]
    csrf = login(empty_client, "cleo")  # the page: the CSRF token is read, then the refusal shown
    page = empty_client.post(
        "/import", files={"file": ("x.zip", b"0" * 1001)}, data={"csrf_token": csrf}
    )
    assert page.status_code == 413 and "too large" in page.text
    assert _left(spool_dir) == []


def test_the_spool_is_removed_after_an_import_and_after_each_refusal(
    empty_client: TestClient, spool_dir: Path, small_zip: bytes
) -> None:
    ok = empty_client.post(
        "/api/v1/import",
        files={"file": ("reg.zip", small_zip)},
        data={"dry_run": "true"},
        headers=bearer("cleo"),
    )
    assert ok.status_code == 200, ok.text
    assert _left(spool_dir) == []
    bad = empty_client.post(
        "/api/v1/import", files={"file": ("x.zip", b"hello")}, headers=bearer("cleo")
    )
    assert bad.status_code == 422 and "not a zip" in bad.json()["errors"][0]["message"]
    assert _left(spool_dir) == []
    login(empty_client, "cleo")
    forged = empty_client.post(
        "/import", files={"file": ("reg.zip", small_zip)}, data={"csrf_token": "forged"}
    )
    assert forged.status_code == 403  # spooled to read the token, then refused: removed
    assert _left(spool_dir) == []
    no_reason = empty_client.post(
        "/api/v1/import",
        files={"file": ("reg.zip", small_zip)},
        data={"update": "true"},
        headers=bearer("cleo"),
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"
    assert _left(spool_dir) == []


def test_the_zip_is_unpacked_in_the_import_process(
    empty_client: TestClient, small_zip: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_child, "run_import", spool_support.where_and_what)
    resp = empty_client.post(
        "/api/v1/import", files={"file": ("reg.zip", small_zip)}, headers=bearer("cleo")
    )
    assert resp.status_code == 422
    pid, zip_there, names = resp.json()["errors"][0]["message"].split("|")
    assert int(pid) != os.getpid()  # unpacked and handed over in the child
    assert zip_there == "True"  # the child read the spooled file by its path
    with zipfile.ZipFile(io.BytesIO(small_zip)) as zf:
        expected = sorted(Path(n).name for n in zf.namelist())
    assert names.split(",") == expected
