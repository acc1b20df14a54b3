"""Schemathesis cases for three kinds of input that once gave a 500: JSON nested far deeper
than any case, a lone UTF-16 surrogate in a text field, and a zip whose member is corrupt.
Each is sent through the documented operation and must get a documented 4xx, never a 5xx."""

from __future__ import annotations

import io
import struct
import zipfile
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import content_type_conformance, not_a_server_error

from .fuzz_support import AUTH, copy_registry_fixture, fuzz_app, private_db
from .registry_support import registry_db  # noqa: F401  (fixture)

_DB = private_db("hostile")
APP = fuzz_app("clinician", _DB)
_registry = copy_registry_fixture(_DB)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
CHECKS = [not_a_server_error, content_type_conformance]


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def _corrupt_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("reg/patients.csv", "patient_id,sex,birth_date,black_race\n")
    data = bytearray(buf.getvalue())
    struct.pack_into("<I", data, 14, 0xDEADBEEF)  # CRC-32 of the local header
    struct.pack_into("<I", data, data.rindex(b"PK\x01\x02") + 16, 0xDEADBEEF)
    return bytes(data)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/recommend", {"tumour": _nested(400)}),
        ("/api/v1/recommend", {"patient": {"sex": "\ud800"}}),
        ("/api/v1/calc/egfr", {"creatinine": 1.1, "unit": "\udfff", "age": 60, "sex": "male"}),
        ("/api/v1/patients", {"patient_id": "P\ud800", "sex": "female"}),
    ],
)
def test_hostile_json_is_a_4xx(path: str, body: dict[str, Any]) -> None:
    case = schema[path]["POST"].Case(body=body, media_type="application/json")
    response = case.call_and_validate(headers=AUTH, checks=CHECKS)
    assert response.status_code in (413, 422), response.text


def test_corrupt_zip_is_a_4xx() -> None:
    case = schema["/api/v1/import"]["POST"].Case(
        body={"file": _corrupt_zip()}, media_type="multipart/form-data"
    )
    response = case.call_and_validate(headers=AUTH, checks=CHECKS)
    assert response.status_code == 422, response.text
