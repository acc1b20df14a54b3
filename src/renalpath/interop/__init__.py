"""Exchange formats of the registry (FHIR R4 / mCODE). Sits above `registry`, below cli/web."""
