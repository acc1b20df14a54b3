"""Property tests: arbitrary JSON never crashes the FHIR reader, and every line is accounted
for (mapped, not imported with a reason, or an error); FHIR ids made from registry ids are
valid and distinct."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from renalpath.interop.fhir.importer import read_fhir
from renalpath.interop.fhir.mapping import resource_id

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
KEYS = [
    "id",
    "meta",
    "subject",
    "patient",
    "code",
    "extension",
    "focus",
    "hasMember",
    "gender",
    "birthDate",
    "bodySite",
    "valueQuantity",
    "valueCodeableConcept",
    "entry",
    "identifier",
]
RESOURCE = st.builds(
    lambda kind, fields: {"resourceType": kind, **fields},
    st.sampled_from(["Patient", "Condition", "Observation", "Procedure", "Bundle", "Nope"]),
    st.dictionaries(st.sampled_from(KEYS), JSON, max_size=5),
)
LINE = st.one_of(RESOURCE.map(json.dumps), JSON.map(json.dumps), st.text(max_size=20))


@settings(max_examples=60, deadline=None)
@given(st.lists(LINE, min_size=1, max_size=6))
def test_any_input_is_read_without_crashing_and_fully_accounted(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "in.ndjson"
        path.write_text("\n".join(line.replace("\n", " ") for line in lines) + "\n", "utf-8")
        read = read_fhir(path)
    assert read.mapped + len(read.skipped) + len(read.errors) == read.resources
    assert not any("internal" in n.reason for n in read.errors)


@given(st.text(min_size=1, max_size=80))
@example("P1\n")  # `$` in a pattern lets a trailing newline through
def test_resource_ids_are_valid_fhir_ids(registry_id: str) -> None:
    rid = resource_id("p", registry_id)
    assert re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", rid)
    assert rid == resource_id("p", registry_id)


@given(st.lists(st.text(min_size=1, max_size=70), min_size=2, max_size=8, unique=True))
def test_distinct_registry_ids_give_distinct_fhir_ids(ids: list[str]) -> None:
    made: dict[str, Any] = {resource_id("t", i): i for i in ids}
    assert len(made) == len(ids)
