"""registry layer (see docs/architecture in design §1)."""
