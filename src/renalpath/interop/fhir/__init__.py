"""FHIR R4 export and import of the registry, conforming to HL7 mCODE STU4 (4.0.0).

`mapping` turns registry rows into resources, `export` writes them (Bulk Data NDJSON or one
patient Bundle per patient), `importer` reads them back into a registry folder. Code maps are
data files in `data/` with their sources; see docs/fhir.md for what is and is not carried.
"""
