"""Speed and memory benchmarks: training, generation and collation, each against a baseline in the same run.

Each benchmark is a function returning a plain dict (its rows and the machine), called by a thin script
under `benchmarks/` and by `vlmadapt bench train|generate|collate`. Tiny configs run on CPU in seconds;
`size="real"` builds the study's real-size architectures (`vlmadapt.models.real`) with random weights on
a GPU. Nothing here is imported by the pipeline.
"""
