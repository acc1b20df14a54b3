"""outcomes layer (see docs/architecture in design §1)."""
