"""Every RENALPATH_* variable the source reads is a field of Settings and a row of the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from renalpath.settings import Settings, variables

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"RENALPATH_[A-Z][A-Z0-9_]*[A-Z0-9]")


def _names_in_source() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "src" / "renalpath").rglob("*.py"):
        found |= set(NAME.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_variable_read_in_the_source_is_a_setting() -> None:
    documented = set(variables())
    assert _names_in_source() <= documented, sorted(_names_in_source() - documented)


def test_every_setting_has_a_readme_row() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(RENALPATH_[A-Z0-9_]+)` \|", readme, flags=re.MULTILINE))
    assert rows == set(variables())


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENALPATH_OPEN_DOCS", "1")
    monkeypatch.setenv("RENALPATH_SESSION_MAX_AGE_S", "600")
    s = Settings()
    assert s.open_docs is True and s.session_max_age_s == 600
