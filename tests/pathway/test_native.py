"""The compiled pathway engine (mypyc, setup.py) says exactly what its Python source says.

Why: `make install` compiles the engine's hot modules for speed (target: ≥ 10,000 cases/s).
A compiled module follows the same source, but not always the same semantics: mypyc runs a
generator passed to `list.extend` eagerly, which once kept duplicate missing inputs that the
source drops (merge.py `extend_unique`).  So the two are compared on a varied corpus, the
source being run in a child process with RENALPATH_PURE_PYTHON=1.

And a compiled module built from an earlier version of its source must never be used: the
import check (pathway/_native.py) is tested on a copy of the package with one source edited.

In CI (RENALPATH_REQUIRE_NATIVE=1) the compiled engine must be present; elsewhere these
tests skip when it was not built (then the source is all there is to run).
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import renalpath.pathway as pathway
import renalpath.pathway.plan as plan_module
from renalpath.pathway import NATIVE_STATUS, recommend_many
from tests.pathway.test_batch_equivalence import TODAY, as_json, corpus, one_by_one

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(pathway.__file__).parent
PACK_CHOICES: list[list[str] | None] = [None, ["oncolex"], ["eau"], ["salvage"]]
REQUIRED = os.environ.get("RENALPATH_REQUIRE_NATIVE") == "1"

# Child process: the same corpus and calls, with the engine run from its source.
_CHILD = """
import json, sys
import renalpath.pathway as pathway
from tests.pathway.test_batch_equivalence import TODAY, as_json, corpus, one_by_one
assert not pathway.NATIVE_STATUS.compiled, pathway.NATIVE_STATUS
cases = corpus(int(sys.argv[1]), int(sys.argv[2]))
out = []
for packs in json.loads(sys.argv[3]):
    out += [as_json(r) for r in pathway.recommend_many(cases, packs, today=TODAY)]
    out += [as_json(r) for r in one_by_one(cases[:100], packs)]
print(json.dumps(out))
"""


def _compiled_or_skip() -> None:
    if NATIVE_STATUS.compiled:
        return
    if REQUIRED:
        pytest.fail(f"the compiled pathway engine is required here but not in use: {NATIVE_STATUS}")
    pytest.skip("the pathway engine was not compiled (run `make install`)")


def _child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENALPATH_")}
    return {**env, **extra}


def test_compiled_engine_is_in_use_where_required() -> None:
    _compiled_or_skip()
    assert NATIVE_STATUS.compiled == NATIVE_STATUS.built
    assert not NATIVE_STATUS.stale
    extension = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    assert Path(plan_module.__file__).name.endswith(extension)
    # The safety layer (gates, choice groups, settling) runs compiled with the rest.
    for name in ("settle", "safety", "choice"):
        assert Path(
            importlib.import_module(f"renalpath.pathway.{name}").__file__ or ""
        ).name.endswith(extension), name


@pytest.mark.parametrize("seed", [20251204, 7])
def test_compiled_engine_gives_what_its_source_gives(seed: int) -> None:
    _compiled_or_skip()
    n = 600
    cases = corpus(n, seed)
    compiled: list[str] = []
    for packs in PACK_CHOICES:
        compiled += [as_json(r) for r in recommend_many(cases, packs, today=TODAY)]
        compiled += [as_json(r) for r in one_by_one(cases[:100], packs)]
    run = subprocess.run(
        [sys.executable, "-c", _CHILD, str(n), str(seed), json.dumps(PACK_CHOICES)],
        cwd=ROOT,
        env=_child_env(RENALPATH_PURE_PYTHON="1"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    source: list[str] = json.loads(run.stdout)
    assert len(source) == len(compiled) > 2000
    assert sum('"refused"' in line for line in compiled) > 100  # refusals compared too
    for i, (c, s) in enumerate(zip(compiled, source, strict=True)):
        assert c == s, f"result {i} differs between the compiled engine and its source"


_PROBE = """
import datetime, json, sys, warnings
warnings.simplefilter("always")
import renalpath.pathway as pathway
import renalpath.pathway.plan as plan
case = json.loads(open(sys.argv[1]).read())
result = pathway.recommend(case, today=datetime.date(2025, 6, 1))
print(plan.__file__)
print(pathway.NATIVE_STATUS.compiled, pathway.NATIVE_STATUS.stale)
print(json.dumps(result.to_dict(), sort_keys=True))
"""
V10 = Path(__file__).parent / "cases" / "v10_m1_good_ps_no_systemic.json"


def _probe(src: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PROBE, str(V10)],
        cwd=src.parent,
        env=_child_env(PYTHONPATH=str(src)),
        capture_output=True,
        text=True,
        check=False,
    )


def test_out_of_date_compiled_module_is_never_used(tmp_path: Path) -> None:
    _compiled_or_skip()
    src = tmp_path / "src"
    shutil.copytree(PACKAGE.parent, src / "renalpath")
    for shared in PACKAGE.parents[1].glob("renalpath_native__mypyc*"):  # mypyc's shared part
        shutil.copy2(shared, src)

    fresh = _probe(src)
    assert fresh.returncode == 0, fresh.stderr
    lines = fresh.stdout.splitlines()
    assert lines[0].startswith(str(src)) and not lines[0].endswith(".py")
    assert "out of date" not in fresh.stderr
    assert json.loads(lines[2])["options"]

    edited = src / "renalpath" / "pathway" / "merge.py"
    edited.write_text(edited.read_text() + "\n# edited after the build\n")
    stale = _probe(src)
    assert stale.returncode == 0, stale.stderr
    lines = stale.stdout.splitlines()
    assert lines[0] == str(src / "renalpath" / "pathway" / "plan.py")  # all from source
    assert lines[1] == "() ('merge',)"
    assert lines[2] == fresh.stdout.splitlines()[2]  # the same answer, from source
    assert "compiled pathway engine is out of date" in stale.stderr
    assert "make install" in stale.stderr


def test_build_and_import_check_name_the_same_modules() -> None:
    # setup.py compiles, the Makefile rebuilds on change, _native.py checks at import: one
    # list in three places (setup.py cannot import the package it builds), kept in step here.
    from renalpath.pathway._native import NATIVE_MODULES

    tree = ast.parse((ROOT / "setup.py").read_text())
    built = [
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "NATIVE_MODULES"
    ]
    assert built == [NATIVE_MODULES]
    sources = " ".join(f"{m}.py" for m in NATIVE_MODULES)
    assert f"src/renalpath/pathway/,{sources})" in (ROOT / "Makefile").read_text()
