"""The clinician UI: one router module of HTML pages per area (docs/architecture.md)."""
