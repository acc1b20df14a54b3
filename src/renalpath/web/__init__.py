"""web layer: the clinician UI and the REST API (docs/architecture.md)."""
