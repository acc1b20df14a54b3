"""The fast FHIR validator refuses exactly what `fhir.resources` refuses, with its message.

Differential tests: valid resources (our own export of a registry that uses every column and
every enumeration value, and the mCODE examples when the reference data is present) are
mutated at random — a leaf made another type or an edge value of its primitive (impossible
dates, codes with spaces, negative or huge integers, empty or blank strings, booleans and
numbers as strings), a key deleted or added, a scalar wrapped in a list or a list unwrapped,
empty lists and objects, nulls — and the fast verdict is compared with the full one, with the
shape cache warmed by the unmutated resources first (so most mutants take the fast path: their
shape is known valid, only their leaves differ). RENALPATH_FASTCHECK_EXAMPLES sets the number
of examples (a modest default; the figure run locally is in docs/fhir.md).
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renalpath.interop.fhir import fastcheck, importer
from renalpath.interop.fhir.export import export_fhir
from renalpath.interop.fhir.fastcheck import FastValidator
from renalpath.interop.fhir.importer import fhir_problem, iter_resources
from renalpath.registry.db import make_engine
from renalpath.registry.importer import import_folder
from tests.conftest import REFDATA
from tests.interop.fhir_fixtures import every_field_rows
from tests.registry.registry_fixtures import write_folder

EXAMPLES = int(os.environ.get("RENALPATH_FASTCHECK_EXAMPLES", "300"))
STATS = os.environ.get("RENALPATH_FASTCHECK_STATS")  # a file: one line per example
MCODE = REFDATA / "mcode" / "examples"

Resource = dict[str, Any]


def _own_export(base: Path) -> list[Resource]:
    reg = write_folder(base / "reg", every_field_rows())
    engine = make_engine(f"sqlite:///{base / 'a.db'}")
    assert import_folder(engine, reg).written
    export_fhir(engine, base / "ndjson", "fhir")
    export_fhir(engine, base / "bundles", "fhir-bundle")
    engine.dispose()
    found = [r for _, r, _ in iter_resources(base / "ndjson") if r is not None]
    # A whole patient Bundle too (Bundle entries are resources of their own type).
    bundle = sorted((base / "bundles").iterdir())[0]
    found.append(json.loads(bundle.read_text("utf-8")))
    return found


def _mcode() -> list[Resource]:
    if not MCODE.is_dir():
        return []
    found: list[Resource] = []
    for path in sorted(MCODE.glob("*.json")):
        found += [r for _, r, _ in iter_resources(path) if r is not None]
    return found


@functools.cache
def _corpus() -> list[Resource]:
    with tempfile.TemporaryDirectory() as tmp:
        return _own_export(Path(tmp)) + _mcode()


@functools.cache
def _warmed() -> FastValidator:
    fast = FastValidator(fhir_problem)
    for res in _corpus():
        fast.problem(copy.deepcopy(res))
    return fast


# Module-level caches rather than fixtures: hypothesis would print the whole corpus.
@pytest.fixture
def corpus() -> list[Resource]:
    return _corpus()


@pytest.fixture
def warmed() -> FastValidator:
    return _warmed()


def test_our_export_covers_every_resource_type_we_write(corpus: list[Resource]) -> None:
    kinds = {r["resourceType"] for r in corpus}
    assert {
        "Patient",
        "Condition",
        "Observation",
        "Procedure",
        "BodyStructure",
        "MedicationRequest",
        "Bundle",
    } <= kinds


def test_valid_resources_are_valid_and_take_the_fast_path(
    corpus: list[Resource], warmed: FastValidator
) -> None:
    before = warmed.fast
    for res in corpus:
        assert warmed.problem(copy.deepcopy(res)) == fhir_problem(res)
    # Every valid resource's shape was planned while warming: judged without pydantic now.
    valid = sum(1 for r in corpus if not fhir_problem(r))
    assert warmed.fast - before >= valid * 0.95


def test_the_mcode_examples_are_in_the_corpus_when_present(corpus: list[Resource]) -> None:
    if not MCODE.is_dir():
        pytest.skip(f"mCODE examples not found under {MCODE} (set RENALPATH_SHARED_DIR)")
    assert len(corpus) > 150


def test_a_bad_value_in_a_known_shape_is_refused_with_the_full_message(
    corpus: list[Resource], warmed: FastValidator
) -> None:
    patient = copy.deepcopy(next(r for r in corpus if r["resourceType"] == "Patient"))
    assert warmed.problem(patient) == ""
    patient["birthDate"] = "1950-02-30"
    why = warmed.problem(patient)
    assert why.startswith("not valid FHIR R4") and "birthDate" in why
    assert why == fhir_problem(patient)


# ---------------------------------------------------------------------- mutations

EDGE_VALUES: list[Any] = [
    "",
    " ",
    "  ",
    "\n",
    "\t",
    "x ",
    " x",
    "a b",
    "a  b",
    "a\nb",
    "ü",
    "x" * 70,
    "x" * 300,
    "true",
    "false",
    "null",
    "0",
    "01",
    "-1",
    "+1",
    "1.5",
    "1e3",
    "2020",
    "2020-01",
    "2020-01-01",
    "2020-13-01",
    "2020-02-30",
    "2021-02-29",
    "2024-02-29",
    "0000-01-01",
    "2020-1-1",
    "2020-01-01T10:00:00",
    "2020-01-01T10:00:00Z",
    "2020-01-01T10:00:00+01:00",
    "2020-01-01T25:00:00Z",
    "2020-01-01T10:00:60Z",
    "2020-01-01T10:00Z",
    "10:00:00",
    "http://example.org/x",
    "http://a b",
    "urn:oid:1.2.3",
    "urn:oid:1.02",
    "urn:uuid:8f4a3e1c-4f1d-4c3a-9c1e-2a9b0e2d7b11",
    "Patient/1",
    "/Patient/1",
    "#x",
    "a/b/c",
    0,
    1,
    -1,
    2,
    2**31 - 1,
    2**31,
    -(2**31),
    -(2**31) - 1,
    2**63,
    10**30,
    0.0,
    -0.0,
    1.0,
    1.5,
    -2.5,
    1e-7,
    1e300,
    float("inf"),
    float("nan"),
    True,
    False,
    None,
    [],
    {},
    {"x": 1},
    [None],
    [1],
    ["a"],
    [{}],
]
KEYS_TO_ADD = [
    "x",
    "foo",
    "_foo",
    "id",
    "extension",
    "resource_type",
    "resourceType",
    "fhir_comments",
    "birthDate__ext",
    "_birthDate",
    "valueString",
    "valueQuantity",
    "url",
]


def _paths(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path below `node` (keys and list indices)."""
    out: list[tuple[Any, ...]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        out.append((*at, key))
        if isinstance(value, dict | list):
            out += _paths(value, (*at, key))
    return out


@functools.cache
def _pool() -> list[Any]:
    """Every distinct scalar of the corpus: valid values of some field, to put in others."""
    corpus = _corpus()
    seen: dict[str, Any] = {}

    def walk(node: Any) -> None:
        items = node.values() if isinstance(node, dict) else node
        for value in items:
            if isinstance(value, dict | list):
                walk(value)
            else:
                seen.setdefault(f"{type(value).__name__}:{value!r}", value)

    for res in corpus:
        walk(res)
    return [seen[k] for k in sorted(seen)]


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        node = node[key]
    return node


def _mutate(res: Resource, data: st.DataObject, pool: list[Any]) -> Resource:
    res = copy.deepcopy(res)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        # Every path but the resource's own type (the reader never passes a resource without).
        paths = [p for p in _paths(res) if p != ("resourceType",)]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths), label="path")
        parent, key = _get(res, path[:-1]), path[-1]
        value = parent[key]
        op = data.draw(
            st.sampled_from(["edge", "pool", "delete", "add", "wrap", "unwrap", "swap-type"]),
            label="op",
        )
        if op == "edge":
            parent[key] = copy.deepcopy(data.draw(st.sampled_from(EDGE_VALUES), label="edge"))
        elif op == "pool":
            parent[key] = data.draw(st.sampled_from(pool), label="value")
        elif op == "delete":
            del parent[key]
        elif op == "add":
            target = value if isinstance(value, dict) else parent
            if isinstance(target, dict):
                # Not the resource's own type: `fhir_problem` is only asked about resources
                # whose type the reader has found (a number there is not a FHIR resource).
                keys = KEYS_TO_ADD if target is not res else KEYS_TO_ADD[:6] + KEYS_TO_ADD[7:]
                new = data.draw(st.sampled_from(keys), label="key")
                target[new] = copy.deepcopy(data.draw(st.sampled_from(EDGE_VALUES), label="new"))
            else:
                target.append(copy.deepcopy(data.draw(st.sampled_from(EDGE_VALUES), label="item")))
        elif op == "wrap":
            parent[key] = [value]
        elif op == "unwrap":
            if isinstance(value, list) and value:
                parent[key] = value[0]
        elif isinstance(value, str):  # swap-type: the same text as another JSON type
            parent[key] = _retyped(value)
        elif isinstance(value, bool | int | float) and not (
            isinstance(value, float) and not math.isfinite(value)
        ):
            parent[key] = json.dumps(value)
    return res


def _retyped(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return {"true": True, "false": False}.get(text, [text])


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_fast_verdict_equals_fhir_resources_on_mutants(data: st.DataObject) -> None:
    corpus, warmed = _corpus(), _warmed()
    index = data.draw(st.integers(0, len(corpus) - 1), label="resource")
    mutant = _mutate(corpus[index], data, _pool())
    full = fhir_problem(copy.deepcopy(mutant))
    path = _kind_of_case(warmed, mutant)
    # Twice: the first sight of a new valid shape plans it, the second uses the plan.
    assert warmed.problem(copy.deepcopy(mutant)) == full
    assert warmed.problem(copy.deepcopy(mutant)) == full
    if STATS:
        with open(STATS, "a", encoding="utf-8") as handle:
            handle.write(f"{path} {'refused' if full else 'valid'}\n")


def _kind_of_case(fast: FastValidator, res: Resource) -> str:
    """Which path the fast validator takes for `res`: its shape planned, new, or unplannable."""
    try:
        known = fast._shapes.get(fastcheck._shape(res, []))
    except fastcheck._Unusual:
        return "unusual"
    if known is None or known.plan is fastcheck._MISSING:
        return "new"
    return "planned" if known.plan is not None else "full"


# ------------------------------------------------------- the second process (large inputs)


def _write_ndjson(folder: Path, resources: list[Resource], extra: list[str]) -> Path:
    folder.mkdir()
    with (folder / "in.ndjson").open("w", encoding="utf-8") as handle:
        for res in resources:
            handle.write(json.dumps(res) + "\n")
        handle.writelines(extra)
    return folder


@pytest.mark.parametrize(
    "case", ["valid", "bad date", "mapping trips", "not JSON", "escapes and a Bundle"]
)
def test_the_optimistic_two_process_read_gives_the_serial_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    corpus = [copy.deepcopy(r) for r in _corpus() if not fhir_problem(r)]
    resources = [r for r in corpus if r["resourceType"] != "Bundle"]
    extra: list[str] = []
    if case == "bad date":
        # Four in a row: some in the worker's share of the validation, some in ours.
        for patient in [r for r in resources if r["resourceType"] == "Patient"][:4]:
            patient["birthDate"] = "1950-02-30"
    elif case == "mapping trips":
        # Refused by FHIR (extension must be a list); mapped as if valid it raises.
        resources.insert(3, {"resourceType": "Condition", "id": "x", "extension": 5})
    elif case == "not JSON":
        extra.append("{not json\n")
    elif case == "escapes and a Bundle":
        # Lines pass 1 must parse although no plain "Patient", "Condition" or "Bundle" shows
        # (an escaped type), a Bundle line (several resources), and blank lines.
        patients = [r for r in resources if r["resourceType"] == "Patient"]
        resources = [r for r in resources if r["resourceType"] != "Patient"]
        for res in patients:
            text = json.dumps(res).replace('"Patient"', '"Pati\\u0065nt"', 1)
            extra += [text + "\n", "  \n"]
        extra.append(json.dumps(next(r for r in corpus if r["resourceType"] == "Bundle")) + "\n")
    folder = _write_ndjson(tmp_path / "in", resources, extra)
    monkeypatch.setattr(importer, "PARALLEL_MIN_BYTES", 10**15)
    serial = importer.read_fhir(folder).to_dict()
    monkeypatch.setattr(importer, "PARALLEL_MIN_BYTES", 0)
    assert importer.read_fhir(folder).to_dict() == serial
    assert bool(serial["errors"]) == (case not in ("valid", "escapes and a Bundle")), serial[
        "errors"
    ][:3]
    assert serial["mapped"] > 0
    # The optimistic read alone (no fallback) gives the serial result when nothing is refused.
    if not serial["errors"]:
        assert importer._read_optimistic(folder).to_dict() == serial
        assert not importer._worker_finds_refusal(folder)


def _registry_csv(url: str, out: Path) -> dict[str, list[str]]:
    """The registry behind `url` exported as CSV, each file's lines sorted."""
    from tests.conftest import run_cli

    done = run_cli("export", str(out), "--db", url)
    assert done.returncode == 0, done.stderr
    return {p.name: sorted(p.read_text("utf-8").splitlines()) for p in sorted(out.iterdir())}


@pytest.mark.parametrize("case", ["valid", "refused", "existing registry"])
def test_the_registry_import_beside_the_worker_gives_the_serial_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    """The CLI starts the registry import on the optimistic rows while the worker still
    validates (its verdict made late on purpose here, so that path is always taken): same
    report, same messages, same registry as the serial read; on a refusal nothing at all
    is left behind (the new SQLite file the import created is gone)."""
    from renalpath.cli import fhir_hook
    from tests.conftest import run_cli

    with tempfile.TemporaryDirectory() as tmp:
        resources = _own_export(Path(tmp))[:-1]  # the NDJSON resources, not the Bundle
    if case == "refused":  # by FHIR only: the mapping (registry-row) does not see it
        observation = next(r for r in resources if r["resourceType"] == "Observation")
        observation["status"] = "final "
    folder = _write_ndjson(tmp_path / "in", resources, [])
    urls = {mode: f"sqlite:///{tmp_path / mode}.db" for mode in ("serial", "beside")}
    if case == "existing registry":  # a registry with the schema in place and rows in it
        for url in urls.values():
            assert run_cli("import", str(folder), "--format", "fhir", "--db", url).returncode == 0

    found_early = importer._worker_finds_refusal

    def late_verdict(path: Path, *, fast_json: bool = False) -> bool:
        import time

        found = found_early(path, fast_json=fast_json)
        time.sleep(1.5)  # the importing process has read and mapped long before this
        return found

    beside: list[bool] = []
    import_while_validated = fhir_hook._import_while_validated

    def spy(*args: Any) -> Any:
        beside.append(True)
        return import_while_validated(*args)

    monkeypatch.setattr(fhir_hook, "_import_while_validated", spy)
    args = ("--format", "fhir", "--reason", "test", "--user", "test", "--json")
    monkeypatch.setattr(importer, "PARALLEL_MIN_BYTES", 10**15)
    serial = run_cli("import", str(folder), *args, "--db", urls["serial"])
    assert not beside
    monkeypatch.setattr(importer, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(importer, "_worker_finds_refusal", late_verdict)
    done = run_cli("import", str(folder), *args, "--db", urls["beside"])
    assert beside == [True]
    assert (done.returncode, done.stdout, done.stderr) == (
        serial.returncode,
        serial.stdout,
        serial.stderr,
    )
    if case == "refused":
        assert serial.returncode == 1 and "not valid FHIR R4" in serial.stderr
        assert not list(tmp_path.glob("*.db*")), "a refused import left a database behind"
    else:
        assert serial.returncode == 0, serial.stderr
        report = json.loads(serial.stdout)
        assert report["written"] and report["fhir"]["mapped"] > 0
        assert _registry_csv(urls["beside"], tmp_path / "b") == _registry_csv(
            urls["serial"], tmp_path / "s"
        )


def test_an_unconfirmed_registry_import_writes_nothing(tmp_path: Path) -> None:
    """`import_folder`'s `confirm` is asked before the commit; False rolls everything back."""
    from sqlalchemy import text

    reg = write_folder(tmp_path / "reg", every_field_rows())
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    asked: list[bool] = []

    def refuse() -> bool:
        asked.append(False)
        return False

    result = import_folder(engine, reg, confirm=refuse)
    assert asked and not result.written
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM patients")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 0
    assert import_folder(engine, reg, confirm=lambda: True).written
    engine.dispose()


class _WideIntsAsFloats:
    """A stand-in for orjson's decoder as it behaves on integers beyond 64 bits: it gives
    them as floats, silently (so the guard is tested without orjson installed)."""

    JSONDecodeError = json.JSONDecodeError

    @staticmethod
    def loads(text: str) -> Any:
        def integer(digits: str) -> int | float:
            value = int(digits)
            return value if -(2**63) <= value < 2**64 else float(value)

        return json.loads(text, parse_int=integer)


def test_check_says_which_resources_a_64_bit_decoder_may_have_changed() -> None:
    fast = FastValidator(fhir_problem)
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "valueQuantity": {"value": 1.5, "unit": "mg"},
    }
    assert fast.check(obs) == ("", True)
    assert fast.check(obs) == ("", True)  # the shape planned: the same answer
    for wide in (2.0**63, -(2.0**63), 1.2345678901234568e29, math.inf, math.nan):
        assert fast.check({**obs, "valueQuantity": {"value": wide, "unit": "mg"}})[1] is False
    assert fast.check({**obs, "valueQuantity": {"value": 2.0**63 - 1024, "unit": "mg"}})[1]
    assert fast.check({**obs, "valueQuantity": {"value": 2**70, "unit": "mg"}})[1]  # an int
    assert fast.check({**obs, "resourceType": 2.0**64})[1] is False


@pytest.mark.parametrize("where", ["valueQuantity", "unknown key"])
def test_an_integer_beyond_64_bits_sends_the_optimistic_read_to_the_standard_decoder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """With a decoder that turns wide integers into floats, the worker reports the resource
    (not plain) and the serial read, standard library only, is what the import gets."""
    with tempfile.TemporaryDirectory() as tmp:
        resources = _own_export(Path(tmp))[:-1]
    lab = next(r for r in resources if "valueQuantity" in r)
    wide = 123456789012345678901234567890
    if where == "valueQuantity":
        lab["valueQuantity"]["value"] = wide
    else:
        lab["bogusKey"] = wide
    folder = _write_ndjson(tmp_path / "in", resources, [])
    monkeypatch.setattr(importer, "PARALLEL_MIN_BYTES", 10**15)
    serial = importer.read_fhir(folder).to_dict()
    monkeypatch.setattr(importer, "orjson", _WideIntsAsFloats)
    assert importer._worker_finds_refusal(folder, fast_json=True)
    monkeypatch.setattr(importer, "PARALLEL_MIN_BYTES", 0)
    assert importer.read_fhir(folder).to_dict() == serial
    # Without the wide integer, the same decoder passes the worker's check.
    if where == "valueQuantity":
        lab["valueQuantity"]["value"] = 12.5
        folder = _write_ndjson(tmp_path / "plain", resources, [])
        assert not importer._worker_finds_refusal(folder, fast_json=True)
