"""clinical layer (see docs/architecture.md)."""
