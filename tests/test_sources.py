"""Every source a rule pack, safety gate, follow-up profile or calculator cites names the
primary publication or the guideline's own page; a secondary page the text was read through
appears only after "read via", beside that primary citation (docs/clinical-content.md,
"Sources").

A reviewer flagged secondary pages that had been cited as if they were the source (a Medscape
summary, a wiki summary of the AUA guideline, a blog for the Mirels table, a demo page of a
CDS platform, a document on issuu).  These tests fail if such a host becomes a cited source
again, or is mentioned without a primary citation beside it.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import renalpath.clinical
from renalpath.clinical.common import CalculatorSpec, Source
from renalpath.pathway.followup import MARGIN_SOURCES, load_profiles
from renalpath.pathway.loader import load_packs

SRC = Path(__file__).resolve().parents[1] / "src" / "renalpath"

# Secondary hosts: summaries, aggregators, blogs, demo servers and reproductions.  They may be
# named only as "read via", never as the cited source.
WEAK_HOSTS = (
    "medscape.com",
    "urologyschool.com",  # the "wikiuro" summary of the AUA guideline
    "blogspot.com",
    "issuu.com",
    "cds-platform.com",
    "medluna",
    "ouci.dntb.gov.ua",
    "jesse.tg",  # an archive of National Guideline Clearinghouse summaries
    "scilit.com",
    "scilit.net",
    "qxmd.com",
    "urotoday.com",
    "kcuk.org.uk",
    "ackc.org",
    "actionkidneycancer.org",
    "ccjm.org",
)

# Hosts of primary sources: the guideline bodies' own pages, the literature databases and the
# DOI resolver, the publishing organisation of a classification, an author's institution.
PRIMARY_HOSTS = (
    "uroweb.org",
    "auanet.org",
    "pubmed.ncbi.nlm.nih.gov",
    "pmc.ncbi.nlm.nih.gov",
    "doi.org",
    "uicc.org",
    "niddk.nih.gov",
    "kidney.org",
    "synapse.mskcc.org",
    "oncolex.org",
)

PMID_OR_DOI = re.compile(r"\bPMID \d{6,8}\b|\bDOI 10\.\d{4,9}/\S+|\bPMCID PMC\d+")
# "Journal year;volume:page", e.g. "J Urol 2002;168:2395" or "Eur Urol 2010;57(1):102".
JOURNAL_CITATION = re.compile(r"\b(19|20)\d\d;\s?\d+(\(\d+\))?:\s?\d+")
# A book: "Amin MB et al. (eds). AJCC Cancer Staging Manual, 8th edition. Springer, 2017".
BOOK_CITATION = re.compile(r"\(eds?\)\..*\b\d+(st|nd|rd|th) edition\b.*\b(19|20)\d\d")
PROJECT_DEFAULT = "renalpath project default"


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").rstrip(".")


def _on(host: str, hosts: tuple[str, ...]) -> bool:
    return any(host == h or host.endswith("." + h) or h in host for h in hosts)


def _weak_mentions(text: str) -> list[int]:
    low = text.lower()
    return [i for h in WEAK_HOSTS for i in [low.find(h)] if i >= 0]


def has_primary_citation(src: dict[str, str]) -> bool:
    """The source names the primary: a primary host, a PMID/DOI/PMCID or a journal citation."""
    text = f"{src.get('title', '')} {src.get('section', '')}"
    return (
        _on(_host(src.get("url", "")), PRIMARY_HOSTS)
        or bool(PMID_OR_DOI.search(text))
        or bool(JOURNAL_CITATION.search(src.get("title", "")))
        or bool(BOOK_CITATION.search(src.get("title", "")))
    )


# ----------------------------------------------------------------------------- collection


def _pack_sources() -> Iterator[tuple[str, dict[str, str]]]:
    packset = load_packs()
    for pack in packset.packs.values():
        for rule in pack.rules:
            for src in rule.sources:
                yield f"pack {pack.id} rule {rule.id}", dict(src)
    for gate in packset.gates.gates:
        for src in gate.sources:
            yield f"gate {gate.spec.id}", dict(src)


def _profile_sources() -> Iterator[tuple[str, dict[str, str]]]:
    for profile in load_profiles().values():
        yield f"profile {profile.id}", profile.source.model_dump()
    for src in MARGIN_SOURCES:
        yield "follow-up margin rule", dict(src)


def _calculator_specs() -> dict[str, CalculatorSpec]:
    specs: dict[str, CalculatorSpec] = {}
    for info in pkgutil.iter_modules(renalpath.clinical.__path__):
        module = importlib.import_module(f"renalpath.clinical.{info.name}")
        for value in vars(module).values():
            if isinstance(value, CalculatorSpec):
                specs[value.id] = value
            elif isinstance(value, dict):
                specs.update({v.id: v for v in value.values() if isinstance(v, CalculatorSpec)})
    return specs


def _calculator_sources() -> Iterator[tuple[str, dict[str, str]]]:
    for spec_id, spec in sorted(_calculator_specs().items()):
        for src in spec.sources:
            yield f"calculator {spec_id}", {k: str(v) for k, v in asdict(src).items()}
    for info in pkgutil.iter_modules(renalpath.clinical.__path__):
        module = importlib.import_module(f"renalpath.clinical.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, Source):
                yield f"clinical.{info.name}.{name}", {k: str(v) for k, v in asdict(value).items()}


def all_sources() -> list[tuple[str, dict[str, str]]]:
    return [*_pack_sources(), *_profile_sources(), *_calculator_sources()]


SOURCES = all_sources()


def _ids() -> list[str]:
    return [f"{where}: {src.get('title', '')[:40]}" for where, src in SOURCES]


# ----------------------------------------------------------------------------- the rules


def test_every_pack_rule_and_gate_cites_a_source() -> None:
    packset = load_packs()
    rules = [r for p in packset.packs.values() for r in p.rules]
    assert rules and packset.gates.gates
    for rule in rules:
        assert rule.sources, rule.id
        assert all(s["title"].strip() for s in rule.sources), rule.id
    for gate in packset.gates.gates:
        assert gate.sources and all(s["title"].strip() for s in gate.sources), gate.spec.id


def test_every_calculator_cites_a_source() -> None:
    from renalpath.calculators import all_calculators

    specs = _calculator_specs()
    # The calculator catalogue (CLI, API and web pages) shows exactly these specs: none
    # escapes the checks below.
    assert {c.spec.id for c in all_calculators().values()} <= set(specs)
    for spec in specs.values():
        assert spec.sources, spec.id
        assert all(s.title.strip() and s.verification in "VSRBP" for s in spec.sources), spec.id


@pytest.mark.parametrize(("where", "src"), SOURCES, ids=_ids())
def test_a_weak_host_is_never_the_cited_source(where: str, src: dict[str, str]) -> None:
    assert not _on(_host(src.get("url", "")), WEAK_HOSTS), (where, src["url"])
    assert not _weak_mentions(src.get("title", "")), (where, src["title"])


@pytest.mark.parametrize(("where", "src"), SOURCES, ids=_ids())
def test_a_weak_host_appears_only_as_read_via_beside_a_primary(
    where: str, src: dict[str, str]
) -> None:
    section = src.get("section", "")
    for at in _weak_mentions(section):
        assert "read via" in section[:at].lower(), (where, section)
    if _weak_mentions(section) or "read via" in section.lower():
        assert has_primary_citation(src), (where, src)


@pytest.mark.parametrize(("where", "src"), SOURCES, ids=_ids())
def test_sources_with_a_link_use_http(where: str, src: dict[str, str]) -> None:
    url = src.get("url", "")
    assert not url or urlsplit(url).scheme in ("http", "https"), (where, url)
    if PROJECT_DEFAULT in src.get("title", ""):
        assert not url, (where, url)


def test_no_file_in_the_source_tree_links_a_weak_host_except_as_read_via() -> None:
    # Docstrings, comments and templates too: a weak link is preceded (within the same
    # citation) by "read via".
    link = re.compile(r"https?://[^\s\"'<>)`]+")
    offenders: list[str] = []
    for path in sorted(SRC.rglob("*")):
        if path.suffix not in {".py", ".yaml", ".html", ".md", ".txt"} or "vendor" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for m in link.finditer(text):
            if _on(_host(m.group(0)), WEAK_HOSTS):
                before = re.sub(r"\s+", " ", text[max(0, m.start() - 400) : m.start()]).lower()
                if "read via" not in before:
                    offenders.append(f"{path.relative_to(SRC)}: {m.group(0)}")
    assert offenders == []


def test_the_checks_catch_a_secondary_page_cited_as_the_source() -> None:
    # The rules above must fail on the shapes the reviewer flagged.
    blog = {"title": "Mirels table", "section": "", "url": "http://x.blogspot.com/mirels"}
    assert _on(_host(blog["url"]), WEAK_HOSTS)
    no_primary = {"title": "Mirels table", "section": "read via http://x.blogspot.com/m"}
    assert not has_primary_citation(no_primary)
    with_primary = dict(no_primary, title="Mirels H. Clin Orthop Relat Res 1989;249:256")
    assert has_primary_citation(with_primary)
    with_pmid = dict(no_primary, section="PMID 2684463; read via http://x.blogspot.com/m")
    assert has_primary_citation(with_pmid)
