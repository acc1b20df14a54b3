"""The registry's coded vocabularies, read from the data files in `registry/codes/`.

Every code the registry accepts or derives is data with its source, so a code is corrected
where it is written and no module holds clinical vocabulary of its own:

* `histology.csv`: the registry's histology values (WHO 2022 renal tumour subtypes; the short
  names used since the first release are kept), each with its ICD-O-3 morphology/behaviour
  code, its behaviour group (malignant / benign / uncertain) and the group the pathway engine
  reads it as (the pathway knows clear cell, papillary, chromophobe, oncocytoma,
  angiomyolipoma and "other");
* `tnm_snomed.csv`: the SNOMED CT concepts of the AJCC kidney categories and stage groups, by
  reference only (code and display, no SNOMED content), keyed "cT1a", "pN0", "stage III";
* `loinc.csv` / `ucum.csv`: the LOINC term of each laboratory test (creatinine by mass or molar
  unit, eGFR by equation) and the UCUM code of each reported unit — the sources of the derived
  `labs.loinc` and `labs.ucum` columns;
* `agents.csv`: systemic anticancer agents with their ATC and RxNorm codes (blank where no
  code could be verified: none is invented);
* `body_sites.csv`: the body sites of metastases and radiotherapy, with SNOMED CT body
  structure codes taken from an mCODE value set.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources


def rows(name: str) -> list[dict[str, str]]:
    """The rows of one data file of `registry/codes/`."""
    text = resources.files("renalpath.registry").joinpath("codes", name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


# ------------------------------------------------------------------------------ histology


@dataclass(frozen=True)
class Histology:
    name: str  # the registry value ("clear_cell")
    who_name: str  # WHO 2022 name; "" for other/unknown
    icdo3: str  # ICD-O-3 morphology/behaviour ("8310/3"); "" when none applies
    behaviour: str  # "malignant" | "benign" | "uncertain" | ""
    pathway_group: str  # the pathway engine's histology for this value


@cache
def histologies() -> dict[str, Histology]:
    return {
        r["histology"]: Histology(
            r["histology"], r["who2022_name"], r["icdo3"], r["behaviour"], r["pathway_group"]
        )
        for r in rows("histology.csv")
    }


def histology_names() -> tuple[str, ...]:
    return tuple(histologies())


@cache
def histology_by_icdo3() -> dict[str, tuple[str, ...]]:
    """ICD-O-3 code → the registry values it names (several when WHO 2022 subtypes share a
    code, e.g. 8311/3: FH-deficient, SDH-deficient and TFE3-rearranged RCC)."""
    out: dict[str, list[str]] = {}
    for h in histologies().values():
        if h.icdo3:
            out.setdefault(h.icdo3, []).append(h.name)
    return {code: tuple(names) for code, names in out.items()}


def pathway_histology(value: str | None) -> str | None:
    """The histology the pathway engine reads for a registry value (None stays None)."""
    if value is None:
        return None
    h = histologies().get(value)
    return h.pathway_group if h is not None else value


# ------------------------------------------------------------------------------------ TNM


@cache
def tnm_snomed() -> dict[str, tuple[str, str]]:
    """ "cT1a" / "pN0" / "cM0" / "stage III" → (SNOMED CT code, display)."""
    return {r["key"]: (r["code"], r["display"]) for r in rows("tnm_snomed.csv")}


@cache
def tnm_by_snomed() -> dict[str, str]:
    return {code: key for key, (code, _) in tnm_snomed().items()}


# ------------------------------------------------------------------------------------ labs


@dataclass(frozen=True)
class LabCode:
    test: str
    unit_kind: str  # "mass" | "molar" | "" (any)
    equation: str  # eGFR only
    loinc: str
    display: str


@cache
def lab_codes() -> tuple[LabCode, ...]:
    return tuple(
        LabCode(r["test"], r["unit_kind"], r["equation"], r["loinc"], r["loinc_display"])
        for r in rows("loinc.csv")
    )


@cache
def ucum_units() -> dict[str, tuple[str, str]]:
    """Reported unit → (UCUM code, kind: "mass" | "molar" | "")."""
    return {r["reported"]: (r["ucum"], r["kind"]) for r in rows("ucum.csv")}


@cache
def lab_loinc(test: str, unit: str, equation: str) -> LabCode | None:
    """The LOINC term of a lab row, or None when no verified term fits (an eGFR of an
    equation without its own term, a creatinine in a unit of unknown kind)."""
    kind = ucum_units().get(unit, ("", ""))[1]
    for c in lab_codes():
        if c.test != test:
            continue
        if c.unit_kind and c.unit_kind != kind:
            continue
        if c.test == "egfr" and c.equation != equation:
            continue
        return c
    return None


# ------------------------------------------------------------------ agents and body sites


@dataclass(frozen=True)
class Agent:
    agent: str
    name: str
    atc: str
    rxnorm: str


@cache
def agents() -> dict[str, Agent]:
    return {
        r["agent"]: Agent(r["agent"], r["name"], r["atc"], r["rxnorm"]) for r in rows("agents.csv")
    }


@cache
def body_sites() -> dict[str, tuple[str, str]]:
    """Registry body site → (SNOMED CT code, display); ("", "") for "other"."""
    return {r["site"]: (r["snomed"], r["display"]) for r in rows("body_sites.csv")}
