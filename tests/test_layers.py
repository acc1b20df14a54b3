"""Lower layers never import upper ones (docs/architecture.md), read from the source.

Every `import renalpath.…` / `from renalpath.… import` in src/renalpath, at any depth (imports
inside functions too), is checked against the table below; inside the web layer, the routers
of `web/pages/` may use `web/api/`, never the reverse, and the shared modules of `web/` use
neither (only `web/app.py` assembles them).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "renalpath"

# Package (or top-level module) → the packages of ours it may import. `errors` is the kinds of
# expected failure: everything may raise them.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "settings": set(),
    "clinical": {"errors"},
    "calculators": {"clinical", "errors"},  # the calculator catalogue, where present
    "pathway": {"clinical", "errors"},
    "registry": {"clinical", "errors"},
    "synth": {"clinical", "registry", "errors"},
    "outcomes": {"clinical", "pathway", "registry", "errors"},
    "interop": {"clinical", "pathway", "registry", "errors"},
    "reports": {"clinical", "pathway", "registry", "outcomes", "errors"},
    "web": {
        "clinical",
        "calculators",
        "pathway",
        "registry",
        "synth",
        "outcomes",
        "interop",
        "reports",
        "errors",
        "settings",
    },
    "cli": {
        "clinical",
        "calculators",
        "pathway",
        "registry",
        "synth",
        "outcomes",
        "interop",
        "reports",
        "errors",
        "settings",
        "web",
    },
}


def _imports(path: Path) -> set[str]:
    """Dotted `renalpath.…` module names imported anywhere in the file."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("renalpath.")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "renalpath":
                out |= {f"renalpath.{a.name}" for a in node.names}
            elif node.module.startswith("renalpath."):
                out.add(node.module)
                out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def _package(path: Path) -> str:
    rel = path.relative_to(SRC).parts
    return rel[0] if len(rel) > 1 else rel[0].removesuffix(".py")


SOURCES = sorted(p for p in SRC.rglob("*.py") if _package(p) != "__init__")


def test_the_table_names_every_package() -> None:
    """A new package needs its row (and its place in docs/architecture.md)."""
    assert {_package(p) for p in SOURCES} <= set(ALLOWED)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_only_lower_layers(path: Path) -> None:
    own = _package(path)
    used = {name.split(".")[1] for name in _imports(path)} - {own}
    assert used <= ALLOWED[own], f"{own} may not import {sorted(used - ALLOWED[own])}"


WEB = SRC / "web"


@pytest.mark.parametrize("path", sorted((WEB / "api").glob("*.py")), ids=lambda p: f"api/{p.name}")
def test_api_routers_do_not_import_pages(path: Path) -> None:
    assert not [m for m in _imports(path) if m.startswith("renalpath.web.pages")]


@pytest.mark.parametrize(
    "path", sorted(p for p in WEB.glob("*.py") if p.name != "app.py"), ids=lambda p: p.name
)
def test_shared_web_modules_import_no_router(path: Path) -> None:
    routers = ("renalpath.web.api", "renalpath.web.pages")
    assert not [m for m in _imports(path) if m.startswith(routers)]
