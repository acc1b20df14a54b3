"""synth layer: synthetic registry folders for demos, tests and benchmarks.

`renalpath synth --patients N --seed S --out DIR` writes the registry CSV files; every value
is synthetic. Entry points: `synth.writer.write_registry` (folder on disk) and
`synth.generator.iter_patients` (a lazy iterator of per-patient rows).
"""
