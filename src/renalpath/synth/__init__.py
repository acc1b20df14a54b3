"""synth layer (see docs/architecture in design §1)."""
