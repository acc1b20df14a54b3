"""registry layer: the database, imports, exports, the audit trail (docs/architecture.md)."""
