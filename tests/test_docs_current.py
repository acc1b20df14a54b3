"""The generated documentation is current: docs/cli.md and the pack reference."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_current() -> None:
    gen = _generator()
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == gen.cli_markdown(), (
        "docs/cli.md is out of date: run python docs/generate.py"
    )


def test_pack_reference_is_current() -> None:
    gen = _generator()
    assert (DOCS / "clinical-content.md").read_text(encoding="utf-8") == (
        gen.clinical_content_text()
    ), "docs/clinical-content.md is out of date: run python docs/generate.py"


def test_pack_reference_lists_every_rule() -> None:
    import yaml

    gen = _generator()
    text = gen.pack_reference_markdown()
    for path in sorted(gen._packs_dir().glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for rule in doc.get("rules", []):
            assert f"| {rule['id']} |" in text
        for conflict in doc.get("conflicts", []):
            assert f"| {conflict['id']} |" in text
