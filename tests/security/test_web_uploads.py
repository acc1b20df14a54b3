"""Zip uploads: measured (not declared) limits, corrupt members refused, reports capped."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest
from fastapi.testclient import TestClient

from renalpath.web.api import imports
from tests.web.conftest import bearer

HEADER = "patient_id,sex,birth_date,black_race\n"


def _zip(files: dict[str, str], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def _post(client: TestClient, data: bytes) -> tuple[int, dict[str, object]]:
    resp = client.post("/api/v1/import", files={"file": ("x.zip", data)}, headers=bearer("cleo"))
    return resp.status_code, resp.json()


def test_falsified_size_header_is_refused_not_a_500(empty_client: TestClient) -> None:
    text = HEADER + "P1,female,1950-01-01,false\n" * 200
    data = bytearray(_zip({"reg/patients.csv": text}))
    # central directory entry: uncompressed size at offset 24 of the "PK\1\2" record
    cd = data.rindex(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 24, 10)
    status, doc = _post(empty_client, bytes(data))
    assert status == 422, doc
    assert doc["errors"][0]["field"] == "file"  # type: ignore[index]


def test_corrupt_member_crc_is_refused_not_a_500(empty_client: TestClient) -> None:
    data = bytearray(_zip({"reg/patients.csv": HEADER}, zipfile.ZIP_STORED))
    cd = data.rindex(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 16, 0xDEADBEEF)  # CRC-32 in the central directory
    struct.pack_into("<I", data, 14, 0xDEADBEEF)  # and in the local header
    status, doc = _post(empty_client, bytes(data))
    assert status == 422, doc
    assert "cannot be unpacked" in doc["errors"][0]["message"]  # type: ignore[index]


def test_row_count_is_measured_while_unpacking(
    empty_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "MAX_ROWS", 50)
    text = HEADER + "".join(f"P{i},female,1950-01-01,false\n" for i in range(100))
    status, doc = _post(empty_client, _zip({"reg/patients.csv": text}))
    assert status == 422
    assert "rows" in doc["errors"][0]["message"]  # type: ignore[index]


def test_unpacked_size_is_bounded(
    empty_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "MAX_UNPACKED_BYTES", 5000)
    a = HEADER + "P1,female,1950-01-01,false\n" * 100  # 3,000 bytes each: 6,000 together
    status, doc = _post(empty_client, _zip({"reg/patients.csv": a, "reg/tumours.csv": a}))
    assert status == 422
    assert "unpacks to" in doc["errors"][0]["message"]  # type: ignore[index]


def test_error_report_is_capped_with_counts(
    empty_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "REPORT_MAX_ISSUES", 5)
    # 40 rows with one refused sex and 40 distinct unreadable birth dates: the report groups
    # what shares a cause and never lists more than the cap, with counts of everything.
    text = HEADER + "".join(f"P{i},other,19x0-01-{i:02d},false\n" for i in range(40))
    status, doc = _post(empty_client, _zip({"reg/patients.csv": text}))
    assert status == 422
    errors = doc["errors"]
    assert isinstance(errors, list) and 1 <= len(errors) <= 5
    assert any(g["column"] == "sex" and g["rows"] == 40 for g in errors)
    total = doc["issues_total"]
    assert isinstance(total, int) and total >= 2
    counts = doc["issue_counts"]
    assert isinstance(counts, dict)
    assert sum(sum(r.values()) for r in counts.values()) == total
