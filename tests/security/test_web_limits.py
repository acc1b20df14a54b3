"""Bounded inputs: body size before parsing, JSON nesting, lone surrogates."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from renalpath.web.limits import MAX_JSON_DEPTH, json_problem
from tests.web.conftest import bearer

EGFR = {"creatinine": 1.35, "unit": "mg/dL", "age": 64, "sex": "male"}


def test_declared_oversized_json_is_refused_before_auth(client: TestClient) -> None:
    big = b'{"x": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    resp = client.post(
        "/api/v1/calc/egfr", content=big, headers={"content-type": "application/json"}
    )
    assert resp.status_code == 413
    assert "too large" in resp.json()["errors"][0]["message"]


def test_chunked_oversized_body_is_counted(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"x": "'
        for _ in range(40):
            yield b"a" * 65536
        yield b'"}'

    resp = client.post(
        "/api/v1/calc/egfr", content=chunks(), headers={"content-type": "application/json"}
    )
    assert resp.status_code == 413


def test_chunked_oversized_form_is_counted(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"username=a&password="
        for _ in range(40):
            yield b"a" * 65536

    resp = client.post(
        "/login", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert resp.status_code == 413


def test_small_body_still_works(client: TestClient) -> None:
    resp = client.post("/api/v1/calc/egfr", json=EGFR, headers=bearer("cleo"))
    assert resp.status_code == 200, resp.text


def test_deeply_nested_json_to_recommend_is_422_not_500(client: TestClient) -> None:
    body = "[" * 1000 + "]" * 1000
    resp = client.post(
        "/api/v1/recommend",
        content=b'{"tumour": ' + body.encode() + b"}",
        headers={**bearer("cleo"), "content-type": "application/json"},
    )
    assert resp.status_code == 422
    assert "nested" in resp.json()["errors"][0]["message"]


def test_lone_surrogate_in_a_case_field_is_422(client: TestClient) -> None:
    resp = client.post(
        "/api/v1/recommend",
        content=b'{"patient": {"sex": "\\ud800"}}',
        headers={**bearer("cleo"), "content-type": "application/json"},
    )
    assert resp.status_code == 422
    assert "surrogate" in resp.json()["errors"][0]["message"]


def test_lone_surrogate_in_a_calculator_field_is_422(client: TestClient) -> None:
    resp = client.post(
        "/api/v1/calc/egfr",
        content=b'{"creatinine": 1.2, "unit": "\\udfff", "age": 60, "sex": "male"}',
        headers={**bearer("cleo"), "content-type": "application/json"},
    )
    assert resp.status_code == 422


def test_surrogate_as_raw_bytes_is_refused(client: TestClient) -> None:
    resp = client.post(
        "/api/v1/calc/egfr",
        content=b'{"creatinine": 1.2, "unit": "\xed\xa0\x80", "age": 60, "sex": "male"}',
        headers={**bearer("cleo"), "content-type": "application/json"},
    )
    assert resp.status_code == 422  # a lone surrogate encoded as UTF-8 bytes: not text
    assert "surrogate" in resp.json()["errors"][0]["message"]


def test_json_screen_accepts_paired_surrogates_and_escaped_backslashes() -> None:
    assert json_problem(b'{"a": "\\ud83d\\ude00"}') is None  # an emoji, written escaped
    assert json_problem(b'{"a": "\\\\ud800"}') is None  # the six characters \ud800, not a code
    assert json_problem(b'{"a": "[[[[", "b": "}}}"}') is None  # brackets inside strings
    assert json_problem(b'{"a": "\\ud800"}') is not None


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.text(max_size=5) | st.integers(), st.lists, max_leaves=30))
def test_json_screen_depth_matches_the_parsed_value(value: object) -> None:
    import json

    def depth(v: object) -> int:
        return 1 + max(map(depth, v), default=0) if isinstance(v, list) else 0

    raw = json.dumps(value).encode()
    problem = json_problem(raw)
    too_deep = depth(value) > MAX_JSON_DEPTH
    has_lone = any(
        0xD800 <= ord(c) <= 0xDFFF for c in json.dumps(value, ensure_ascii=False) if len(c) == 1
    )
    assert (problem is not None) == (too_deep or has_lone)
